import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { FfitError } from '../errors.js';
import type { BackendChoice } from '../backend/index.js';
import { InterferenceNetwork, type ModelJSON } from '../network.js';

/**
 * Writes a model document (see `ModelJSON`) to `path` atomically: a temporary file in the same
 * directory renamed over the target, so an interrupted save never leaves a half-written model
 * and never destroys the previous one. Creates missing parent directories.
 *
 * @throws FfitError `E_MODEL` when the file cannot be written (the message names the path and the OS error).
 */
export function saveModel(path: string, doc: ModelJSON): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic.sync(path, JSON.stringify(doc) + '\n');
  } catch (err) {
    throw new FfitError('E_MODEL', `Cannot write the model to ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose another --out path.`);
  }
}

/**
 * Reads a model file written by {@link saveModel} and rebuilds the network on `backend`
 * (default `auto`). Throws `FfitError('E_MODEL')` when the file is missing or not an ffit model.
 */
export async function loadModel(path: string, backend?: BackendChoice): Promise<InterferenceNetwork> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FfitError('E_MODEL', `Cannot read model file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path.`);
  }
  return InterferenceNetwork.fromJSON(text, backend);
}
