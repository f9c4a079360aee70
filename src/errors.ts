/**
 * Stable error codes. Every failure that a user can cause raises an {@link FfitError} with one of
 * these codes; anything else escaping the library is a bug.
 */
export type FfitErrorCode =
  | 'E_OPTION' // an option is missing, of the wrong type or out of range
  | 'E_SHAPE' // arrays whose lengths do not match the lattice or each other
  | 'E_INPUT' // input values that cannot be sources (NaN, ∞, negative, all-zero image)
  | 'E_LABEL' // a label outside 0 … C−1
  | 'E_IDX_MAGIC' // an IDX file whose magic number is wrong (not an IDX file)
  | 'E_IDX_TYPE' // an IDX element type other than unsigned byte
  | 'E_IDX_SIZE' // an IDX file shorter or longer than its header declares, or empty
  | 'E_IDX_GZIP' // a .gz file that does not decompress
  | 'E_DATA' // a data set that does not fit the request (missing files, classes, shots)
  | 'E_MODEL' // a model file that cannot be read (format, version, shapes, values)
  | 'E_MODEL_CHECKSUM' // a model file whose logits do not match its checksum
  | 'E_MEMORY' // a lattice too large for WebAssembly memory
  | 'E_BACKEND' // a backend that cannot run here
  | 'E_DISPOSED'; // a network used after dispose()

/** The one error class of ffit: `code` is stable across versions, `message` names the fix. */
export class FfitError extends Error {
  /** Stable, machine-readable code (see {@link FfitErrorCode}). */
  readonly code: FfitErrorCode;

  constructor(code: FfitErrorCode, message: string) {
    super(message);
    this.name = 'FfitError';
    this.code = code;
  }
}

/** Throws `E_OPTION` unless `ok`. */
export function check(ok: boolean, message: string, code: FfitErrorCode = 'E_OPTION'): asserts ok {
  if (!ok) throw new FfitError(code, message);
}
