// writeAtomically: a short write (as on a nearly full disk) is continued, and a refused one leaves
// the target as it was, with no temporary file behind.
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAtomically, type WriteIo } from '../src/node/atomic.js';

/** Node's fs, but each write takes at most `chunk` bytes, and after `room` bytes in all it fails with ENOSPC. */
function shortWrites(chunk: number, room = Infinity): WriteIo {
  let used = 0;
  return {
    ...fs,
    writeSync: ((fd: number, buf: Uint8Array, offset: number, length: number, position: number) => {
      const n = Math.min(chunk, length, room - used);
      if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      used += n;
      return fs.writeSync(fd, buf, offset, n, position);
    }) as WriteIo['writeSync'],
  };
}

describe('writeAtomically', () => {
  const text = 'α'.repeat(5000) + '\n'; // 10 001 bytes of UTF-8

  it('continues short writes until the whole text is on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const path = join(dir, 'out.txt');
    writeFileSync(path, 'old');
    writeAtomically(path, text, shortWrites(4096));
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['out.txt']);
  });

  it('leaves the old file and no temporary file when the disk fills up halfway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const path = join(dir, 'out.txt');
    writeFileSync(path, 'old');
    expect(() => writeAtomically(path, text, shortWrites(4096, 6000))).toThrow(/ENOSPC/);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['out.txt']);
  });

  it('leaves the target as it was when the rename fails (a directory in the way)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    fs.mkdirSync(join(dir, 'out.txt', 'inside'), { recursive: true });
    expect(() => writeAtomically(join(dir, 'out.txt'), text)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(['out.txt']);
    expect(readdirSync(join(dir, 'out.txt'))).toEqual(['inside']);
  });
});
