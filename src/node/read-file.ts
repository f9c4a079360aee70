import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { FfitError, type FfitErrorCode } from '../errors.js';

/**
 * Largest text file ffit reads (a model file, an experiment's results.json): 512 MiB, V8's longest
 * string (`buffer.constants.MAX_STRING_LENGTH` is 2^29 − 24 characters on 64-bit Node 20). A larger
 * file could not become one string, and reading it first would take seconds and gigabytes.
 */
export const MAX_TEXT_FILE_BYTES = Math.min(2 ** 29, bufferConstants.MAX_STRING_LENGTH);

/** Largest binary file ffit reads (an IDX file): 2 GiB − 1 byte, the most Node's `readFile` returns. */
export const MAX_BINARY_FILE_BYTES = 2 ** 31 - 1;

/** What a refusal names: the error code, the kind of file ("model file") and the fix that ends the message. */
export interface FileRole {
  code: FfitErrorCode;
  what: string;
  fix: string;
}

const size = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * An open regular file, checked before a byte is read: `stat` (following symbolic links) refuses
 * directories, devices such as /dev/zero, FIFOs (whose open would block) and sockets, and files
 * larger than `maxBytes` (`Infinity` for a caller that checks the size itself, {@link checkFileSize}); the file is then opened non-blocking and checked again with `fstat`, so a
 * path swapped in between cannot slip through. The caller closes `fd`.
 *
 * @throws FfitError `role.code` naming the path, what it is (or its size and the cap) and `role.fix`.
 */
export function openRegularFile(path: string, role: FileRole, maxBytes: number): { fd: number; size: number } {
  const refuse = (st: Stats): string | null => {
    if (!st.isFile()) return `${cap(role.what)} ${path} is ${kind(st)}, not a regular file${st.isDirectory() ? '' : ' (it could be read forever or block)'}; ${role.fix}`;
    return st.size > maxBytes ? tooLarge(path, role, st.size, maxBytes) : null;
  };
  let fd: number;
  try {
    const why = refuse(statSync(path));
    if (why) throw new FfitError(role.code, why);
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (err instanceof FfitError) throw err;
    throw new FfitError(role.code, `Cannot read ${role.what} ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ${role.fix}`);
  }
  const st = fstatSync(fd);
  const why = refuse(st);
  if (why) {
    closeSync(fd);
    throw new FfitError(role.code, why);
  }
  return { fd, size: st.size };
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function tooLarge(path: string, role: FileRole, bytes: number, maxBytes: number): string {
  return `${cap(role.what)} ${path} is ${size(bytes)} (${bytes} bytes), more than the ${size(maxBytes)} ffit reads ` +
    `(${maxBytes} bytes); it is not a file ffit can use, or is damaged: ${role.fix}`;
}

/** Refuses (`role.code`, naming the path, the size and the cap) a file of `bytes` above `maxBytes`. */
export function checkFileSize(path: string, role: FileRole, bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) throw new FfitError(role.code, tooLarge(path, role, bytes, maxBytes));
}

/**
 * Reads `length` bytes at `position` of an open file (fewer if it ends first) into a new Buffer.
 * OS errors become `role.code` naming the path.
 */
export function readAt(fd: number, path: string, role: FileRole, length: number, position = 0): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  try {
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
  } catch (err) {
    throw new FfitError(role.code, `Cannot read ${role.what} ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ${role.fix}`);
  }
  return buf.subarray(0, got);
}

/**
 * The whole of a regular file of at most `maxBytes` bytes, checked by {@link openRegularFile}
 * before anything is read.
 */
export function readRegularFile(path: string, role: FileRole, maxBytes: number): Buffer {
  const { fd, size: bytes } = openRegularFile(path, role, maxBytes);
  try {
    return readAt(fd, path, role, bytes);
  } finally {
    closeSync(fd);
  }
}

/** A regular UTF-8 text file of at most {@link MAX_TEXT_FILE_BYTES}, as a string. */
export function readTextFile(path: string, role: FileRole): string {
  return readRegularFile(path, role, MAX_TEXT_FILE_BYTES).toString('utf8');
}
