import { dirname } from 'node:path';
import { writeAtomically, writeFailure } from './atomic.js';
import { FfitError } from '../errors.js';
import { makeDirs } from './dirs.js';

/**
 * Writes `text` to `path` atomically (temporary file renamed over the target; parent directories
 * created), e.g. an SVG diagram. Throws `FfitError('E_DATA')` naming the path and the OS error.
 */
export function saveText(path: string, text: string): void {
  try {
    makeDirs(dirname(path));
    writeAtomically(path, text);
  } catch (err) {
    throw new FfitError('E_DATA', `Cannot write ${path} (${writeFailure(err)}); choose another path.`);
  }
}
