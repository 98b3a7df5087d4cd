// The guest run's share (a scratch folder under CACHE_DIR/runs, mounted at
// /media in the guest): where its files appear in the guest, the run.sh that
// prepares the command's environment in the chroot, reading back what the
// command wrote, and pruning old run folders. test/support/guest.ts uses it.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.ts';
import { shellQuote } from './shell.ts';

/** Where the run's writable share appears inside the guest (an empty folder of the host root). */
export const GUEST_SHARE = '/media';
/** Files passed with `opts.files` appear under this folder in the guest. */
export const GUEST_IN = `${GUEST_SHARE}/in`;
/** Files the command writes under this folder come back in `GuestResult.outFiles`. */
export const GUEST_OUT = `${GUEST_SHARE}/out`;
/** The guest's cgroup v2 root (pure v2; the host's is /sys/fs/cgroup/unified). */
export const GUEST_CGROUP2_ROOT = '/sys/fs/cgroup';

/** What run.sh takes from the run's options. */
export interface ScriptOptions {
  env?: Record<string, string>;
  cwd?: string;
  hostTmpPaths?: string[];
}

/** The run's run.sh: environment, the host's /tmp folders it needs bound back, /boot, cwd, then command.sh. */
export function runScript(opts: ScriptOptions, nodeBin: string, kernelDir: string | undefined): string {
  const env: Record<string, string> = {
    PATH: `${path.dirname(nodeBin)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    BPFGATE_VM: '1',
    BPFGATE_VM_SHARE: GUEST_SHARE,
    BPFGATE_VM_IN: GUEST_IN,
    BPFGATE_VM_OUT: GUEST_OUT,
    BPFGATE_CGROUP2_ROOT: GUEST_CGROUP2_ROOT,
    ...(kernelDir ? { BPFGATE_VM_KERNEL_DIR: kernelDir } : {}),
    ...opts.env,
  };
  const lines = ['# written by test/support/guest.ts; runs inside `chroot /mnt` in the guest'];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`bad environment variable name: ${k}`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  // the guest's /tmp is a tmpfs: bring back host folders under /tmp that the run needs
  const hostTmp = new Set<string>();
  for (const p of [nodeBin, opts.cwd ?? PROJECT_ROOT, ...(opts.hostTmpPaths ?? [])]) {
    const first = /^\/tmp\/([^/]+)/.exec(path.resolve(p));
    if (first) hostTmp.add(first[1]!);
  }
  for (const d of hostTmp) {
    const q = shellQuote(`/tmp/${d}`);
    const src = shellQuote(`/tmp/.host-tmp/${d}`);
    lines.push(
      `mkdir -p ${q} && mount --bind ${src} ${q} || { echo "cannot bind the host's ${d} into /tmp" >&2; exit 125; }`,
    );
  }
  if (kernelDir) {
    // the guest kernel's config and System.map at /boot (for bpftool feature probe and doctor checks)
    const boot = shellQuote(path.join(kernelDir, 'boot'));
    lines.push(`[ -d /boot ] && mount --bind ${boot} /boot`);
  }
  lines.push(`cd ${shellQuote(opts.cwd ?? PROJECT_ROOT)} || exit 125`);
  lines.push(`exec /bin/bash ${GUEST_SHARE}/command.sh`);
  return `${lines.join('\n')}\n`;
}

/** Files the command wrote under the share's out/, relative path -> content. */
export async function readOutFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) out[r] = await readFile(p, 'utf8');
    }
  };
  if (existsSync(dir)) await walk(dir, '');
  return out;
}

/** Remove run folders (kept by failed runs) older than a day. */
export async function pruneRuns(runs: string): Promise<void> {
  const limit = Date.now() - 24 * 3600_000;
  for (const d of await readdir(runs).catch(() => [] as string[])) {
    const p = path.join(runs, d);
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory() && st.mtimeMs < limit)
      await rm(p, { recursive: true, force: true }).catch(() => {});
  }
}
