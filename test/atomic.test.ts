// writeAtomically: a short write (as on a nearly full disk) is continued, and a refused one leaves
// the target as it was, with no temporary file behind.
import { execFileSync } from 'node:child_process';
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

  it('writes through a symbolic link (the link stays) and keeps an existing file\'s permissions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const file = join(dir, 'private.txt'), link = join(dir, 'link.txt');
    writeFileSync(file, 'old', { mode: 0o600 });
    fs.symlinkSync(file, link);
    writeAtomically(link, text);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['link.txt', 'private.txt']);
  });

  it('refuses, and leaves in place, a FIFO, a link to one and a dangling link (never replaced by a file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const fifo = join(dir, 'fifo'), link = join(dir, 'fifo-link'), dangling = join(dir, 'dangling');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync(fifo, link);
    fs.symlinkSync(join(dir, 'missing'), dangling);
    expect(() => writeAtomically(fifo, text)).toThrow('it is a device, FIFO or socket, not a regular file, so it is not replaced');
    expect(() => writeAtomically(link, text)).toThrow(`it is a symbolic link to ${fifo}, which is a device, FIFO or socket`);
    expect(() => writeAtomically(dangling, text)).toThrow('it is a symbolic link to a missing file');
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['dangling', 'fifo', 'fifo-link']);
  });

  it('creates the temporary file with the old file\'s mode (a private file is never readable by others) under an unpredictable name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const file = join(dir, 'private.txt');
    writeFileSync(file, 'old', { mode: 0o600 });
    const opened: [string, number][] = [];
    const spy: WriteIo = { ...fs, openSync: ((p: string, flags: string, mode: number) => { opened.push([p, mode]); return fs.openSync(p, flags, mode); }) as WriteIo['openSync'] };
    writeAtomically(file, text, spy);
    writeAtomically(file, text, spy);
    expect(opened.map(([, mode]) => mode)).toEqual([0o600, 0o600]);
    const names = opened.map(([p]) => p);
    expect(names[0]).toMatch(/\/\.private\.txt\.\d+\.\d+\.[0-9a-f]{8}\.tmp$/);
    expect(names[0]!.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, '')).toBe(names[1]!.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, ''));
    expect(names[0]!.slice(-13)).not.toBe(names[1]!.slice(-13));
  });

  it('does not follow a symbolic link that another user left in a sticky directory (root included)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    fs.chmodSync(dir, 0o1777);
    const victim = join(dir, 'victim.txt'), link = join(dir, 'model.json');
    writeFileSync(victim, 'keep');
    fs.symlinkSync(victim, link);
    fs.lchownSync(link, 65534, 65534); // as if "nobody" had made it (the test runs as root, as CI does)
    expect(() => writeAtomically(link, text)).toThrow(`${link} is a symbolic link that another user owns in a sticky directory, which is not followed`);
    // anywhere on the path: at the end of a chain of links, or as a directory on the way
    const own = join(mkdtempSync(join(tmpdir(), 'ffit-atomic-')), 'mine.json');
    fs.symlinkSync(link, own);
    expect(() => writeAtomically(own, text)).toThrow(`${link} is a symbolic link that another user owns in a sticky directory`);
    const victimDir = mkdtempSync(join(tmpdir(), 'ffit-atomic-')), dirLink = join(dir, 'dl');
    writeFileSync(join(victimDir, 'model.json'), 'keep');
    fs.symlinkSync(victimDir, dirLink);
    fs.lchownSync(dirLink, 65534, 65534);
    expect(() => writeAtomically(join(dirLink, 'model.json'), text)).toThrow(`${dirLink} is a symbolic link that another user owns in a sticky directory`);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readFileSync(join(victimDir, 'model.json'), 'utf8')).toBe('keep');
  });

  it('writes a file whose name is near the system\'s limit (the temporary name is cut short)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    const path = join(dir, 'n'.repeat(250));
    writeAtomically(path, text);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['n'.repeat(250)]);
  });

  it('refuses a directory in the way and leaves it as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-atomic-'));
    fs.mkdirSync(join(dir, 'out.txt', 'inside'), { recursive: true });
    expect(() => writeAtomically(join(dir, 'out.txt'), text)).toThrow('it is a directory');
    expect(readdirSync(dir)).toEqual(['out.txt']);
    expect(readdirSync(join(dir, 'out.txt'))).toEqual(['inside']);
  });
});
