import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** The file-system calls of {@link writeAtomically} (Node's `fs`; tests pass one that writes short). */
export type WriteIo = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

let serial = 0;

/** Longest part of the target's name kept in the temporary file's name: a target name near the
 *  system's limit (255 bytes) would otherwise make a temporary name that is too long. */
const TMP_NAME_CHARS = 64;

/** Where {@link writeAtomically} writes, and what the new file takes over from the old one. */
interface Target {
  /** The file to replace: `path`, or the file its symbolic links lead to. */
  path: string;
  /** The existing file's permission bits (setuid, setgid and sticky dropped), or null for a new file. */
  mode: number | null;
  /** The existing file's owner, or null for a new file. */
  uid: number | null;
  gid: number | null;
}

/**
 * Where a write to `path` must land: a symbolic link is followed to the file it names (the link
 * stays a link and the file it points at is replaced), an existing regular file that this process
 * may write is replaced keeping its permissions and owner, and anything else is refused.
 *
 * @throws Error (no `code`) whose message, starting "it …", says why `path` is refused: a
 *   directory, device, FIFO or socket, a symbolic link to one, to nothing or in a loop, a file
 *   this process may not write (read-only, immutable), or another user's file or symbolic link in
 *   a sticky directory.
 */
function target(path: string): Target {
  const real = followLinks(path);
  let linked = false;
  try {
    linked = fs.lstatSync(path).isSymbolicLink();
  } catch {
    // nothing at path itself
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(real);
  } catch (err) {
    // absent, or under a file (ENOTDIR): nothing to replace; creating the temporary file says why not
    if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    if (linked) throw new Error('it is a symbolic link to a missing file');
    return { path: real, mode: null, uid: null, gid: null };
  }
  if (!st.isFile()) throw new Error(linked ? `it is a symbolic link to ${real}, which ${kind(st)}` : `it ${kind(st)}`);
  try {
    // a file its owner made read-only is not silently replaced (rename would only need the directory)
    fs.accessSync(real, fs.constants.W_OK);
  } catch (err) {
    throw new Error(`it exists and may not be written (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  // in a sticky directory (/tmp) only the file's or the directory's owner may replace it
  const dir = fs.statSync(dirname(real)), uid = process.getuid?.();
  if ((dir.mode & 0o1000) !== 0 && uid !== undefined && uid !== 0 && st.uid !== uid && dir.uid !== uid) {
    throw new Error('it belongs to another user in a sticky directory, where only its owner may replace it');
  }
  return { path: real, mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
}

/** Most symbolic links followed on one path, as the kernel's own limit (40). */
const MAX_LINK_HOPS = 40;

/**
 * `path` with every symbolic link on it resolved, one component at a time (a missing tail is kept
 * as given). A link that another user owns in a sticky directory (/tmp) may aim at any file of
 * this process's owner, root's too: it is not followed, anywhere on the path, for root as well
 * (as the kernel's protected_symlinks does where it is on).
 *
 * @throws Error (no `code`) for such a link, or for links in a loop.
 */
function followLinks(path: string): string {
  const uid = process.getuid?.();
  let parts = resolve(path).split(sep).filter(Boolean);
  let cur: string = sep, hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(next);
    } catch {
      return join(next, ...parts);
    }
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) throw new Error('it is a symbolic link in a loop');
    const dir = fs.statSync(cur);
    if ((dir.mode & 0o1000) !== 0 && uid !== undefined && st.uid !== uid && st.uid !== dir.uid) {
      throw new Error(`${next} is a symbolic link that another user owns in a sticky directory, which is not followed`);
    }
    const to = fs.readlinkSync(next);
    if (isAbsolute(to)) cur = sep;
    parts = [...to.split(sep).filter(Boolean), ...parts];
  }
  return cur;
}

/** What a file that is not regular is, for messages. */
function kind(st: fs.Stats): string {
  return st.isDirectory() ? 'is a directory' : 'is a device, FIFO or socket, not a regular file, so it is not replaced';
}

/**
 * Writes `text` (UTF-8) to `path` atomically: into a temporary file beside it
 * (`.<name>.<pid>.<n>.<random>.tmp`, the name cut to 64 characters, created with the old file's
 * mode), in full, flushed to disk, then renamed over `path`. A short write (a nearly full disk writes what fits and reports how much) is
 * continued until the rest is written or the system refuses it. On any error the temporary file is
 * removed and `path` is as it was. A symbolic link is written through (the file it names is
 * replaced, the link kept); an existing file keeps its permission bits (a private model stays
 * private) and, where this process may give it, its owner. Refused, never replaced: a directory,
 * device (e.g. `/dev/null`), FIFO or socket, a file this process may not write, and another
 * user's file or symbolic link (anywhere on the path) in a sticky directory. A hard link is not written through: the path gets the new file, other names keep the
 * old one. (write-file-atomic, used before, wrote once and renamed whatever a short write had
 * left: on a full disk it replaced README.md with its first 16 KiB and reported success.)
 *
 * @throws the system's error (`ENOSPC`, `EACCES`, …), or an `Error` without `code` whose message
 *   says why the path is refused; `path` unchanged either way.
 */
export function writeAtomically(path: string, text: string, io: WriteIo = fs): void {
  const data = Buffer.from(text, 'utf8');
  const to = target(path);
  const tmp = temporaryPath(to.path);
  // created with the old file's mode: a private file is never readable by others, not even for a moment
  const fd = io.openSync(tmp, 'wx', to.mode ?? 0o666);
  let open = true, renamed = false;
  try {
    if (to.mode !== null) fs.fchmodSync(fd, to.mode);
    if (to.uid !== null && (to.uid !== process.getuid?.() || to.gid !== process.getgid?.())) {
      // only root may give a file away: the replaced file keeps its owner where that is allowed
      try { fs.fchownSync(fd, to.uid, to.gid!); } catch { /* not root: the new file is this process's */ }
    }
    for (let done = 0; done < data.length;) {
      const n = io.writeSync(fd, data, done, data.length - done, done);
      if (n <= 0) throw Object.assign(new Error(`no progress writing ${tmp}`), { code: 'ENOSPC' });
      done += n;
    }
    io.fsyncSync(fd);
    open = false; // a descriptor is closed once, even if close fails: its number may be reused
    io.closeSync(fd);
    io.renameSync(tmp, to.path);
    renamed = true;
  } finally {
    if (open) {
      try { io.closeSync(fd); } catch { /* the error being thrown says more */ }
    }
    if (!renamed) {
      try { io.unlinkSync(tmp); } catch { /* the error being thrown says more */ }
    }
  }
}

/** What went wrong in a failed write, for a message: the system's code, else the refusal's text. */
export function writeFailure(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

/** Creates and removes the file `path` (which must not exist). */
function probe(path: string): void {
  fs.closeSync(fs.openSync(path, 'wx'));
  fs.unlinkSync(path);
}

/** The temporary file {@link writeAtomically} writes before renaming it over `file`: beside it, its
 *  name cut short, with a random part so that nobody can create it first and make the save fail. */
function temporaryPath(file: string): string {
  return join(dirname(file), `.${basename(file).slice(0, TMP_NAME_CHARS)}.${process.pid}.${serial++}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Why {@link writeAtomically} could not write `path`, or null when it could: what it refuses (see
 * above), or a directory where the file would go (the link's target's, for a link) that cannot
 * hold a new file (probed by creating and removing one). The directory must exist. Changes
 * nothing; lets a command check its outputs before it starts working.
 */
export function whyUnwritable(path: string): string | null {
  let to: Target;
  try {
    to = target(path);
  } catch (err) {
    return writeFailure(err);
  }
  try {
    // the temporary file's own name, not a shorter one: a path near the system's limit fails here, not after the work
    probe(temporaryPath(to.path));
  } catch (err) {
    return `no file can be created in ${dirname(to.path)} (${writeFailure(err)})`;
  }
  return null;
}
