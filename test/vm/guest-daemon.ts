// Shared by the guest scenarios that drive the Daemon directly (pins,
// protect): a small daemon runner started in the guest with JSON options, and
// a policy that blocks /usr/bin/true in the scenario's own cgroup.

/** The daemon with JSON options, stopped by SIGTERM (orderly) or killed. */
export const DAEMON_MJS = `
const [root, json] = process.argv.slice(2);
const { composeDaemon } = await import(root + 'src/daemon/compose.ts');
const { defaultDaemonOptions } = await import(root + 'src/config/daemon.ts');
const { probeFeatures } = await import(root + 'src/kernel/probe.ts');
const { createLogger } = await import(root + 'src/log.ts');
const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
const log = createLogger({ level: 'info', pretty: false });
// the first start probes; later ones reuse its answer (no probe attaches while the scenario execs)
const CACHE = '/tmp/features.json';
const probe = async () => {
  if (existsSync(CACHE)) return JSON.parse(readFileSync(CACHE, 'utf8'));
  const f = await probeFeatures();
  writeFileSync(CACHE, JSON.stringify(f));
  return f;
};
const d = composeDaemon({ ...defaultDaemonOptions(), ...JSON.parse(json) }, { log, probe });
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  d.stop().then(() => process.exit(0), (e) => { console.error(e); process.exit(4); });
});
try {
  await d.start();
} catch (e) {
  console.error(e);
  process.exit(4);
}
setInterval(() => {}, 1 << 30);
`;

/** A policy named `name` that blocks exec of /usr/bin/true in the cgroup /bgpins. */
export function execBlockPolicy(name: string): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: ${name}
  description: no /usr/bin/true in the scenario's cgroup
  severity: high
spec:
  scope:
    cgroups: [/bgpins]
  rules:
    - id: no-true
      kind: exec
      action: block
      message: exec of /usr/bin/true
      match:
        paths: [/usr/bin/true]
`;
}
