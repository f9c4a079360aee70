/**
 * Every stable error code, with what it means. Every failure that a user can cause raises an
 * {@link FfitError} with one of these codes; anything else escaping the library is a bug.
 * Codes never change meaning across versions; messages may be reworded.
 */
export const FFIT_ERROR_CODES = {
  E_OPTION: 'an option is missing, of the wrong type or out of range',
  E_SHAPE: 'arrays whose lengths do not match the lattice or each other',
  E_INPUT: 'input values that cannot be sources (NaN, ∞, negative, all-zero image, beyond Float32)',
  E_LABEL: 'a label outside 0 … C−1',
  E_IDX_MAGIC: 'an IDX file whose magic number is wrong (not an IDX file)',
  E_IDX_TYPE: 'an IDX element type other than unsigned byte',
  E_IDX_SIZE: 'an IDX file shorter or longer than its header declares, empty, or of the wrong rank',
  E_IDX_GZIP: 'a .gz file that does not decompress',
  E_DATA: 'a data set that does not fit the request (missing or unreadable files, classes, shots)',
  E_MODEL: 'a model file that cannot be read or written (JSON, structure, options, shapes, values)',
  E_MODEL_CHECKSUM: 'a model file whose logits or manifest do not match their SHA-256 checksum',
  E_MODEL_VERSION: 'a model file of a format version this ffit cannot read (newer or unknown)',
  E_MEMORY: 'a lattice or batch too large for WebAssembly memory (4 GiB)',
  E_BACKEND: 'a backend that cannot run here',
  E_DISPOSED: 'a network used after dispose()',
  E_USAGE: 'a command line the CLI cannot parse (unknown command or flag, missing value)',
} as const;

/** Stable, machine-readable error codes (see {@link FFIT_ERROR_CODES}). */
export type FfitErrorCode = keyof typeof FFIT_ERROR_CODES;

/** The one error class of ffit: `code` is stable across versions, `message` names the problem and the fix. */
export class FfitError extends Error {
  /** Stable, machine-readable code (see {@link FfitErrorCode}). */
  readonly code: FfitErrorCode;

  constructor(code: FfitErrorCode, message: string) {
    super(message);
    this.name = 'FfitError';
    this.code = code;
  }
}

/** Throws `FfitError(code)` (default `E_OPTION`) with `message` unless `ok`. */
export function check(ok: boolean, message: string, code: FfitErrorCode = 'E_OPTION'): asserts ok {
  if (!ok) throw new FfitError(code, message);
}
