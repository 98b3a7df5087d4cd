// The container engine for the package tests: Debian's dockerd on a socket
// and data root of bpfgate's own, started without a bridge, iptables rules,
// IP forwarding or masquerading (the host's forwarding and the tests that use
// network namespaces stay as they are), never pulling anything; the images
// the tests need are built here: the package's own (npm run package) and a
// Debian 12 root file system with systemd (mmdebstrap, from Debian's
// packages, cached in .cache/).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { type CommandResult, runCommand } from './child.ts';
import { CACHE, PROJECT_ROOT } from './paths.ts';
import { sleep, waitFor } from './wait.ts';

export const DOCKER_SOCKET = 'unix:///run/bpfgate-test-docker.sock';
const DATA_ROOT = '/var/lib/bpfgate-test-docker';
const EXEC_ROOT = '/run/bpfgate-test-docker';
const PIDFILE = '/run/bpfgate-test-docker.pid';

export const DEBIAN_IMAGE = 'bpfgate-test/debian-systemd:12';
const DEBIAN_TAR = `${CACHE}/package/debian-systemd.tar`;
/** what the Debian image holds beyond minbase: systemd as PID 1, bpfgate's one dependency, tools the tests call */
const DEBIAN_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'libbpf1', 'procps'];

/** `docker ARGS` against the tests' engine. */
export function docker(args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand(['docker', '-H', DOCKER_SOCKET, ...args], { timeoutMs });
}

/** `docker ARGS`, failing with its output when it fails. */
export async function dockerOk(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Start the tests' dockerd unless it answers already. Returns whether this call started it. */
export async function startDocker(): Promise<boolean> {
  if ((await docker(['version', '--format', '{{.Server.Version}}'], 10_000)).code === 0) return false;
  mkdirSync(DATA_ROOT, { recursive: true });
  await runCommand(
    [
      'sh',
      '-c',
      `nohup dockerd --host ${DOCKER_SOCKET} --data-root ${DATA_ROOT} --exec-root ${EXEC_ROOT} --pidfile ${PIDFILE} --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false >${CACHE}/dockerd.log 2>&1 &`,
    ],
    { timeoutMs: 10_000 },
  );
  for (let i = 0; i < 100; i++) {
    if ((await docker(['version'], 5000)).code === 0) return true;
    await sleep(200);
  }
  throw new Error(`dockerd did not answer on ${DOCKER_SOCKET}; see ${CACHE}/dockerd.log`);
}

/** Stop the dockerd this run started. */
export async function stopDocker(): Promise<void> {
  await runCommand(
    [
      'sh',
      '-c',
      `kill $(cat ${PIDFILE}) 2>/dev/null; for i in $(seq 50); do [ -e ${PIDFILE} ] || exit 0; sleep 0.2; done`,
    ],
    {
      timeoutMs: 20_000,
    },
  );
}

async function hasImage(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', tag], 10_000)).code === 0;
}

/** The Debian 12 image with systemd: its root file system built once by mmdebstrap (cached), then imported. */
export async function debianImage(): Promise<string> {
  if (await hasImage(DEBIAN_IMAGE)) return DEBIAN_IMAGE;
  if (!existsSync(DEBIAN_TAR)) {
    mkdirSync(`${CACHE}/package`, { recursive: true });
    const r = await runCommand(
      [
        'mmdebstrap',
        '--variant=minbase',
        // the output's name (.tar.tmp) does not say tar: without this mmdebstrap makes a directory
        '--format=tar',
        `--include=${DEBIAN_PACKAGES.join(',')}`,
        'bookworm',
        `${DEBIAN_TAR}.tmp`,
      ],
      { timeoutMs: 900_000 },
    );
    if (r.code !== 0) throw new Error(`mmdebstrap failed:\n${r.stderr.slice(-4000)}`);
    await runCommand(['mv', `${DEBIAN_TAR}.tmp`, DEBIAN_TAR]);
  }
  await dockerOk(['import', DEBIAN_TAR, DEBIAN_IMAGE], 300_000);
  return DEBIAN_IMAGE;
}

/** The package's artefacts in dist/ (npm run package), built now when missing or older than the sources. */
export async function packageArtefacts(): Promise<{ deb: string; image: string; imageTar: string }> {
  const version = (await import(`${PROJECT_ROOT}/package.json`, { with: { type: 'json' } })).default
    .version as string;
  const deb = `${PROJECT_ROOT}/dist/bpfgate_${version}_amd64.deb`;
  const imageTar = `${PROJECT_ROOT}/dist/bpfgate_${version}_image.tar`;
  const newest = Number(
    (
      await runCommand([
        'sh',
        '-c',
        `find ${PROJECT_ROOT}/src ${PROJECT_ROOT}/bin ${PROJECT_ROOT}/packaging ${PROJECT_ROOT}/policies -type f -printf '%T@\\n' | sort -n | tail -1`,
      ])
    ).stdout.trim(),
  );
  const stale = (f: string) => !existsSync(f) || statSync(f).mtimeMs / 1000 < newest;
  if (stale(deb) || stale(imageTar)) {
    const r = await runCommand([process.execPath, `${PROJECT_ROOT}/packaging/package.ts`], {
      timeoutMs: 900_000,
      env: { ...process.env, DOCKER_HOST: DOCKER_SOCKET },
    });
    if (r.code !== 0) throw new Error(`npm run package failed:\n${r.stderr.slice(-4000)}`);
  }
  const image = `bpfgate:${version}`;
  await dockerOk(['load', '-i', imageTar], 300_000);
  return { deb, image, imageTar };
}

/**
 * What a container needs to load BPF programs, attach them to the host's
 * cgroups and see its processes: every capability this machine grants (its
 * root lacks CAP_SYS_RESOURCE, so --privileged is refused), no seccomp, all
 * devices, the host's bpffs and cgroup trees, and no network.
 */
export function privileged(): string[] {
  return [
    '--pull',
    'never',
    '--cap-add',
    'ALL',
    '--cap-drop',
    'SYS_RESOURCE',
    '--security-opt',
    'seccomp=unconfined',
    '--security-opt',
    'apparmor=unconfined',
    '--security-opt',
    'systempaths=unconfined',
    '--device-cgroup-rule',
    'a *:* rwm',
    '--network',
    'none',
    '--cgroupns',
    'host',
    '-v',
    '/sys/fs/bpf:/sys/fs/bpf',
    '-v',
    '/sys/fs/cgroup:/sys/fs/cgroup',
  ];
}

/** `docker run -d --name NAME` with privileged() and `args` (options, the image, its arguments). */
export function runPrivileged(name: string, args: readonly string[]): Promise<string> {
  return dockerOk(['run', '-d', '--name', name, ...privileged(), ...args]);
}

/** `sh -c SCRIPT` inside a container. */
export type ContainerShell = (script: string, timeoutMs?: number) => Promise<CommandResult>;

/**
 * A Debian 12 container with systemd as PID 1 (privileged(), a tmpfs /run as
 * systemd wants it) and the package at /pkg/bpfgate.deb, once systemd says
 * the system is running. Returns a shell into it.
 */
export async function startSystemdContainer(name: string, deb: string): Promise<ContainerShell> {
  const sh: ContainerShell = (script, timeoutMs = 120_000) =>
    docker(['exec', name, 'sh', '-c', script], timeoutMs);
  await runPrivileged(name, [
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/run/lock',
    '-e',
    'container=docker',
    '-v',
    `${deb}:/pkg/bpfgate.deb:ro`,
    DEBIAN_IMAGE,
    '/lib/systemd/systemd',
  ]);
  await waitFor(
    async () => /running|degraded/.test((await sh('systemctl is-system-running')).stdout),
    60_000,
    'systemd in the container',
  );
  return sh;
}
