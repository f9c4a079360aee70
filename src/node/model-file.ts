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
 * Reads a model file written by {@link saveModel} (format `ffit-model`, docs/MODEL_FORMAT.md;
 * version 1 files are migrated) and rebuilds the network on `backend` (default `auto`).
 *
 * @throws FfitError `E_MODEL` when the file is missing, unreadable, not an ffit model or does not
 *   fit its lattice; `E_MODEL_CHECKSUM` when it changed since saving; `E_MODEL_VERSION` when a
 *   newer ffit wrote it. Messages name the path.
 */
export async function loadModel(path: string, backend?: BackendChoice): Promise<InterferenceNetwork> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FfitError('E_MODEL', `Cannot read model file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path (it must be a file written by \`ffit train\`).`);
  }
  return InterferenceNetwork.fromJSON(text, backend, `model file ${path}`);
}
