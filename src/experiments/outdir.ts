/**
 * The output directory of an experiment: checked before any work (a blocked file fails in a
 * second, not after minutes of training), made consistent when reused (figures an earlier run
 * wrote and this one does not are removed, so a report never sits beside stale figures), and
 * removed again when a run that created it fails before writing anything.
 */
import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { FfitError } from '../errors.js';
import { whyUnwritable } from '../node/atomic.js';
import { readTextFile } from '../node/read-file.js';
import { makeDirs, removeIfEmpty } from '../node/dirs.js';

export type ExperimentName = 'fewshot' | 'dynamics' | 'forgetting';

/**
 * Every file name an experiment can write (which of them a run writes depends on its methods and
 * flags). Only these names are ever checked or removed; other files in the directory are left alone.
 */
export const EXPERIMENT_FILES: Record<ExperimentName, readonly string[]> = {
  fewshot: ['results.json', 'runs.csv', 'summary.csv', 'selection.csv', 'accuracy-vs-shots.svg', 'paired-difference.svg', 'per-class.svg', 'confusion.svg', 'report.md'],
  dynamics: ['results.json', 'points.csv', 'curve.csv', 'selection.csv', 'accuracy.svg', 'loss.svg', 'energy.svg', 'entropy.svg', 'report.md'],
  forgetting: ['results.json', 'runs.csv', 'summary.csv', 'during-b.csv', 'selection.csv', 'forgetting.svg', 'during-b.svg', 'report.md'],
};

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);

/**
 * Makes `dir` (and missing parents) and checks that experiment `what` can write every file of its
 * naming there: a `results.json` already there is one of `what`'s, and each file is absent or one
 * the atomic writer can replace (a writable regular file, or a link to one, in a directory that
 * can hold a new file). Returns the directories it made.
 *
 * @throws FfitError `E_OPTION` naming the directory or the file that cannot be written; `fix` is
 * the advice that ends the message.
 */
export function prepareOutDir(dir: string, what: ExperimentName, fix = 'choose another --out directory'): string[] {
  let made: string[];
  try {
    made = makeDirs(dir);
  } catch (err) {
    // only --out can name a directory that cannot be made: `report DIR` has read DIR/results.json
    throw new FfitError('E_OPTION', `--out: cannot use ${dir} as the report directory (${codeOf(err)}); ${fix}.`);
  }
  try {
    for (const name of EXPERIMENT_FILES[what]) {
      // what the atomic writer would refuse after the run
      const path = join(dir, name), why = whyUnwritable(path);
      if (why !== null) throw new FfitError('E_OPTION', `cannot write ${path}: ${why}; remove it or ${fix}.`);
    }
    checkReusable(dir, what, fix);
  } catch (err) {
    removeIfEmpty(made);
    throw err;
  }
  return made;
}

/**
 * Refuses a directory that this run would take over from someone else: its `results.json` is
 * another experiment's or not ffit's, or it has no `results.json` but holds files of `what`'s
 * naming (a project's own `report.md` or `summary.csv`), which the run would overwrite or delete.
 * Called before the work and again just before writing (another run may have written meanwhile).
 *
 * @throws FfitError `E_OPTION` naming the directory and what is in it; `fix` ends the message.
 */
export function checkReusable(dir: string, what: ExperimentName, fix: string): void {
  // a link among the outputs could lead into another run's directory: outputs are never written through one
  const linked = EXPERIMENT_FILES[what].find((name) => lstatOf(join(dir, name))?.isSymbolicLink());
  if (linked !== undefined) {
    throw new FfitError('E_OPTION', `${join(dir, linked)} is a symbolic link; an experiment does not write its files through links (one could lead into another run's directory): remove it or ${fix}.`);
  }
  const path = join(dir, 'results.json');
  if (!lstatOf(path)) {
    const theirs = EXPERIMENT_FILES[what].filter((name) => lstatOf(join(dir, name)));
    if (theirs.length === 0) return;
    throw new FfitError('E_OPTION', `${dir} holds ${theirs.join(', ')} but no results.json, so no ffit run of ${what} wrote them; ` +
      `they are not overwritten: ${fix}, or remove them.`);
  }
  // stat'ed before it is read: a FIFO or a huge file there is refused, not read forever
  const text = readTextFile(path, { code: 'E_OPTION', what: 'results file', fix: `${fix}.` });
  let found: unknown;
  try {
    found = (JSON.parse(text) as { experiment?: unknown }).experiment;
  } catch {
    found = undefined;
  }
  if (found === what) return;
  throw new FfitError('E_OPTION', typeof found === 'string'
    ? `${dir} holds the results of experiment ${found}; running ${what} there would overwrite them: ${fix}.`
    : `${path} is not the results of an ffit experiment; it is not overwritten: ${fix}.`);
}

/** `lstatSync`, or undefined where nothing is at `path`. */
function lstatOf(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Removes the files of `what`'s naming in `dir` that `keep` does not list: left by an earlier run
 * with other methods or flags, they would sit beside a report that does not describe them.
 *
 * @throws the system's error for a file that cannot be removed.
 */
export function removeStale(dir: string, what: ExperimentName, keep: readonly string[]): void {
  for (const name of EXPERIMENT_FILES[what]) {
    if (keep.includes(name)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
