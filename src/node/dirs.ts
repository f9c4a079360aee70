import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p dir`, one component at a time from the nearest existing ancestor. Node 20's
 * `mkdirSync(dir, { recursive: true })` never returns for a path under `/proc` (it retries the
 * ENOENT forever); here the first component that cannot be made throws its OS error
 * (`ENOENT`, `ENOTDIR`, `EEXIST` for a file in the way, `EACCES`), which callers turn into FfitError.
 * Returns the directories it made, outermost first (empty when `dir` existed), so that a caller
 * can remove them again; when it fails partway, it removes those it made first.
 */
export function makeDirs(dir: string): string[] {
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
  const made: string[] = [];
  try {
    for (const m of missing.reverse()) {
      mkdirSync(m);
      made.push(m);
    }
  } catch (err) {
    removeIfEmpty(made); // a failure partway leaves none of the directories made so far
    throw err;
  }
  return made;
}

/** Removes those of `made` (from {@link makeDirs}) that are still empty, innermost first; keeps the rest. */
export function removeIfEmpty(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (something was written) or gone: keep it and its parents
    }
  }
}
