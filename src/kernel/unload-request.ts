// The unload request of a protected daemon (src/kernel/protect.ts): `bpfgate
// unload` writes a small file in the run folder and holds it open until the
// daemon has disarmed; the daemon says who asked from what the kernel knows,
// never from what the file says: the uid is the file's owner (the writer's
// fsuid), the pid is the process that holds the file open (found through
// /proc/<pid>/fd). What the file claims is only logged as claimed.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

export interface UnloadRequest {
  /** the process holding the request file open (from /proc), or null when none did any more */
  pid: number | null;
  /** from the kernel: the owner of the request file (the writer's fsuid), not what the file says */
  uid: number;
  at: string;
  /** what the file claimed, for the log */
  claimed: { pid: unknown; uid: unknown };
}

/**
 * The processes (but this one) that hold `file` open, by device and inode, as
 * /proc/<pid>/fd says. Processes whose fd folder cannot be read are skipped.
 */
export function fileHolders(file: string, proc = '/proc'): number[] {
  const st = statSync(file, { bigint: true });
  const pids: number[] = [];
  for (const e of readdirSync(proc)) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${e}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const t = statSync(`${proc}/${e}/fd/${fd}`, { bigint: true });
        if (t.ino === st.ino && t.dev === st.dev) {
          pids.push(Number(e));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return pids;
}

/**
 * Who asked for an unload: the uid from the file's owner (a link is refused,
 * never followed), the pid from the process holding it open (the lowest, when
 * several do). The file's own pid and uid are self-reported: only logged.
 */
export function readUnloadRequest(file: string): UnloadRequest {
  const st = lstatSync(file);
  if (!st.isFile()) throw new Error(`${file} is not a regular file`);
  let claimed: { pid?: unknown; uid?: unknown; at?: unknown } = {};
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      claimed = JSON.parse(readFileSync(fd, 'utf8')) as typeof claimed;
    } finally {
      closeSync(fd);
    }
  } catch {
    // an unreadable request is still a request: the kernel's uid says who
  }
  let holders: number[] = [];
  try {
    holders = fileHolders(file);
  } catch {
    // removed meanwhile: nobody holds it
  }
  return {
    pid: holders.length > 0 ? Math.min(...holders) : null,
    uid: st.uid,
    at: typeof claimed.at === 'string' ? claimed.at : st.mtime.toISOString(),
    claimed: { pid: claimed.pid, uid: claimed.uid },
  };
}

/**
 * Write an unload request and keep it open: the returned descriptor is what
 * names this process to the daemon; close it once answered. The request is
 * written under a name of its own and then renamed into place, so the daemon
 * never sees it empty (it polls for the name).
 */
export function openUnloadRequest(file: string): number {
  const tmp = `${file}.${process.pid}`;
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${tmp} is not a regular file`);
    const req = { pid: process.pid, uid: process.getuid?.() ?? -1, at: new Date().toISOString() };
    writeSync(fd, `${JSON.stringify(req)}\n`);
    renameSync(tmp, file);
    return fd;
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // renamed or never made
    }
    throw err;
  }
}
