/**
 * The output directory of an experiment: checked before any work (a blocked file fails in a
 * second, not after minutes of training), made consistent when reused (figures an earlier run
 * wrote and this one does not are removed, so a report never sits beside stale figures), and
 * removed again when a run that created it fails before writing anything.
 */
import { rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FfitError } from '../errors.js';
import { probeDirectory, refusedTarget } from '../node/atomic.js';
import { makeDirs } from '../node/dirs.js';

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
 * naming there: each is absent, a regular file or a link to one (written through, the link kept),
 * and a probe file can be created and removed. Returns the directories it made.
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
    throw new FfitError('E_OPTION', `--out: cannot use ${dir} as the report directory (${codeOf(err)}); choose a directory path that is not a file.`);
  }
  try {
    for (const name of EXPERIMENT_FILES[what]) {
      const path = join(dir, name);
      const refused = refusedTarget(path); // what the atomic writer would refuse after the run
      if (refused !== null) throw new FfitError('E_OPTION', `cannot write ${path}: ${refused}; remove it or ${fix}.`);
    }
    try {
      probeDirectory(dir);
    } catch (err) {
      throw new FfitError('E_OPTION', `cannot create files in ${dir} (${codeOf(err)}); ${fix}.`);
    }
  } catch (err) {
    removeIfEmpty(made);
    throw err;
  }
  return made;
}

/** Removes those of `made` (from {@link prepareOutDir}) that are still empty, innermost first. */
export function removeIfEmpty(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (something was written) or gone: keep it and its parents
    }
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
