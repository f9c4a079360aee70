import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The file-system calls of {@link writeAtomically} (Node's `fs`; tests pass one that writes short). */
export type WriteIo = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

let serial = 0;

/**
 * Writes `text` (UTF-8) to `path` atomically: into a temporary file beside it
 * (`.<name>.<pid>.<n>.tmp`), in full, flushed to disk, then renamed over `path`. A short write
 * (a nearly full disk writes what fits and reports how much) is continued until the rest is written
 * or the system refuses it. On any error the temporary file is removed and `path` is as it was.
 * (write-file-atomic, used before, wrote once and renamed whatever a short write had left: on a
 * full disk it replaced README.md with its first 16 KiB and reported success.)
 *
 * @throws the system's error (`ENOSPC`, `EACCES`, `EISDIR`, …), with `path` unchanged.
 */
export function writeAtomically(path: string, text: string, io: WriteIo = fs): void {
  const data = Buffer.from(text, 'utf8');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${serial++}.tmp`);
  const fd = io.openSync(tmp, 'wx', 0o666);
  let open = true, renamed = false;
  try {
    for (let done = 0; done < data.length;) {
      const n = io.writeSync(fd, data, done, data.length - done, done);
      if (n <= 0) throw Object.assign(new Error(`no progress writing ${tmp}`), { code: 'ENOSPC' });
      done += n;
    }
    io.fsyncSync(fd);
    open = false; // a descriptor is closed once, even if close fails: its number may be reused
    io.closeSync(fd);
    io.renameSync(tmp, path);
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
