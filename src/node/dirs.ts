import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p dir`, one component at a time from the nearest existing ancestor. Node 20's
 * `mkdirSync(dir, { recursive: true })` never returns for a path under `/proc` (it retries the
 * ENOENT forever); here the first component that cannot be made throws its OS error
 * (`ENOENT`, `ENOTDIR`, `EEXIST` for a file in the way, `EACCES`), which callers turn into FfitError.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: d === resolve(dir) ? 'EEXIST' : 'ENOTDIR' });
      break;
    }
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) mkdirSync(m);
}
