// Files only this process's user may read or change, for state the daemon
// keeps on disk (the NATS spool and its cursor, the fleet's policy cache):
// folders 0700 and files 0600 whatever the umask, a folder of another user or
// a symbolic link refused rather than followed (a link planted in a shared
// folder would otherwise turn a root daemon's write into a write anywhere),
// and a file replaced by writing a new one, syncing it, renaming it over the
// old one and syncing the folder, so that a crash or a power cut leaves the
// old file or the new one, never a mix.
import { constants } from 'node:fs';
import { chmod, type FileHandle, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BpfgateError } from './errors.ts';

/** A folder or file that cannot be used safely: a symbolic link, another user's, unreadable. */
export class PrivateFileError extends BpfgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PRIVATE_FILE', message, options);
  }
}

const NOFOLLOW = constants.O_NOFOLLOW;
/** read, never through a link */
export const READ = constants.O_RDONLY | NOFOLLOW;
/** append, created 0600 when absent, never through a link */
export const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW;
/** write in place, never through a link */
export const WRITE = constants.O_WRONLY | NOFOLLOW;
/** a new file, 0600, never through a link */
export const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** `dir`, created 0700 when absent; refused when it is a link or another user's; closed to others when it was open. */
export async function ownFolder(dir: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    if (st.isSymbolicLink()) throw new PrivateFileError(`the ${what} ${dir} is a symbolic link: refused`);
    if (!st.isDirectory()) throw new PrivateFileError(`the ${what} ${dir} is not a folder`);
    const uid = process.geteuid?.() ?? st.uid;
    if (st.uid !== uid)
      throw new PrivateFileError(
        `the ${what} ${dir} belongs to uid ${st.uid}, not to this process (${uid}): refused`,
      );
    if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
  } catch (err) {
    if (err instanceof PrivateFileError) throw err;
    throw new PrivateFileError(`cannot use the ${what} ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Open a file with `flags` (READ, APPEND, WRITE, CREATE): 0600 when created, never through a link. */
export async function openPrivate(path: string, flags: number): Promise<FileHandle> {
  try {
    return await open(path, flags, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw err;
    const why = code === 'ELOOP' ? 'is a symbolic link: refused' : `cannot be opened (${code})`;
    throw new PrivateFileError(`${path} ${why}`, { cause: err });
  }
}

/** A whole file, never through a link; null when it does not exist. */
export async function readPrivate(path: string): Promise<Buffer | null> {
  let fh: FileHandle;
  try {
    fh = await openPrivate(path, READ);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Replace dir/name: a new file (0600), synced, renamed over the old one, the folder synced. */
export async function replacePrivate(dir: string, name: string, data: Uint8Array): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  await unlink(tmp).catch(() => {});
  const fh = await openPrivate(tmp, CREATE);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
