import { dirname } from 'node:path';
import { writeAtomically, writeFailure } from './atomic.js';
import { FfitError } from '../errors.js';
import { makeDirs } from './dirs.js';
import type { BackendChoice } from '../backend/index.js';
import { InterferenceNetwork, type ModelJSON, type RuntimeChoice } from '../network.js';
import { decodeModel } from '../model-format.js';
import { readTextFile } from './read-file.js';

/**
 * Writes a model document (see `ModelJSON`) to `path` atomically: a temporary file in the same
 * directory renamed over the target, so an interrupted save never leaves a half-written model
 * and never destroys the previous one. Creates missing parent directories.
 *
 * The document is decoded first, with every check loading does on its own (structure, checksums,
 * options, shapes, finite logits; see {@link decodeModel}), so an invalid document never replaces
 * an existing file.
 *
 * @throws FfitError `E_MODEL` / `E_MODEL_CHECKSUM` / `E_MODEL_VERSION` when `doc` is not a model
 *   document that would load (nothing is written); `E_MODEL` when the file cannot be written (the
 *   message names the path and the OS error).
 */
export function saveModel(path: string, doc: ModelJSON): void {
  decodeModel(doc, `the model to save to ${path}`);
  try {
    makeDirs(dirname(path));
    writeAtomically(path, JSON.stringify(doc) + '\n');
  } catch (err) {
    throw new FfitError('E_MODEL', `Cannot write the model to ${path} (${writeFailure(err)}); choose another --out path.`);
  }
}

/**
 * Reads a model file written by {@link saveModel} (format `ffit-model`, docs/MODEL_FORMAT.md;
 * version 1 files are migrated) and rebuilds the network on `runtime`: a backend name (default
 * `auto`) or `{ backend, threads }` (see `InterferenceNetwork.fromJSON`).
 *
 * The file is stat'ed before anything is read: a directory, device, FIFO or socket, or a file above
 * 512 MiB (`MAX_TEXT_FILE_BYTES`, V8's longest string), is refused at once.
 *
 * @throws FfitError `E_MODEL` when the file is missing, unreadable, not a regular file, too large, not an ffit model or does not
 *   fit its lattice; `E_MODEL_CHECKSUM` when it changed since saving; `E_MODEL_VERSION` when a
 *   newer ffit wrote it. Messages name the path.
 */
export async function loadModel(path: string, runtime?: BackendChoice | RuntimeChoice): Promise<InterferenceNetwork> {
  const text = readTextFile(path, { code: 'E_MODEL', what: 'model file', fix: 'check the path (it must be a file written by `ffit train`).' });
  return InterferenceNetwork.fromJSON(text, runtime, `model file ${path}`);
}
