/**
 * Reading and writing IDX files (the format of MNIST), optionally gzipped. Browser-safe: works on
 * plain `Uint8Array`s, no `fs`, `process` or `Buffer`.
 *
 * IDX layout: bytes 0–1 are zero, byte 2 the element type (0x08 = unsigned byte, the only type
 * supported here), byte 3 the number of dimensions d, then d big-endian uint32 sizes, then the
 * elements in row-major order.
 */
import crc32 from 'crc/calculators/crc32';
import { Gunzip } from 'fflate';
import { FfitError, check } from '../errors.js';

/** A parsed IDX file of unsigned bytes. */
export interface IdxArray {
  /** Sizes of the dimensions, outermost first (1 … 4 of them, each ≥ 0). */
  dims: number[];
  /** The elements, row-major, `product(dims)` bytes. */
  data: Uint8Array;
}

/** Images of an IDX3 file: `count` images of `rows × cols` pixels. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** `count × rows × cols` pixel values 0 … 255, row-major (image, row, column). */
  pixels: Uint8Array;
}

/** Labels of an IDX1 file. */
export interface IdxLabels {
  count: number;
  /** `count` label values 0 … 255. */
  labels: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (b: number): string => '0x' + b.toString(16).padStart(2, '0');

/** True if `bytes` starts with the gzip magic number 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses a gzip file and checks its trailer (CRC-32 and length of the data, RFC 1952), so a
 * truncated or damaged download is refused instead of yielding wrong pixels. Streaming inflate:
 * fflate's one-shot `gunzipSync` would allocate the (possibly corrupt) trailer length up front,
 * up to 4 GiB.
 */
function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  const fail = (why: string) => new FfitError('E_IDX_GZIP',
    `${name} is not valid gzip data (${why}); the download is probably corrupt or incomplete: ` +
    're-download it, or decompress it yourself with gunzip to see the problem.');
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const g = new Gunzip((chunk) => {
      chunks.push(chunk);
      total += chunk.length;
    });
    g.push(bytes, true);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (bytes.length < 18) throw fail('shorter than a gzip header and trailer');
  let out: Uint8Array;
  if (chunks.length === 1) {
    out = chunks[0]!;
  } else {
    out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
  }
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8);
  const storedLength = trailer.getUint32(4, true);
  if (storedLength !== out.length % 2 ** 32) {
    throw fail(`its trailer records ${storedLength} bytes, it decompresses to ${out.length}`);
  }
  const storedCrc = trailer.getUint32(0, true);
  const crc = crc32(out) >>> 0;
  if (storedCrc !== crc) {
    throw fail(`CRC-32 ${hex32(crc)} of the data differs from ${hex32(storedCrc)} in its trailer`);
  }
  return out;
}

const hex32 = (x: number): string => '0x' + x.toString(16).padStart(8, '0');

/**
 * Parses an IDX file of unsigned bytes (type 0x08), gunzipping it first if it starts with the gzip
 * magic number. `name` (e.g. the file name) is used in error messages.
 *
 * Returns `data` as a view (no copy) into the (decompressed) bytes.
 *
 * @throws FfitError `E_IDX_GZIP` gzip data that does not decompress or whose CRC-32 or length
 *   differs from its trailer;
 *   `E_IDX_SIZE` empty, shorter than its header, or data longer/shorter than the header declares;
 *   `E_IDX_MAGIC` not an IDX file (first two bytes not zero, or dimension count not 1 … 4);
 *   `E_IDX_TYPE` an element type other than unsigned byte.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (isGzip(bytes)) bytes = gunzip(bytes, name);
  check(
    bytes.length >= 4,
    bytes.length === 0
      ? `${name} is empty (0 bytes); re-download it.`
      : `${name} is only ${bytes.length} bytes, too short for an IDX header (at least 4); re-download it.`,
    'E_IDX_SIZE',
  );
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  check(
    b0 === 0 && b1 === 0,
    `${name} is not an IDX file: it starts with ${hex(b0)} ${hex(b1)}, IDX files start with 0x00 0x00; ` +
      'pass the uncompressed or .gz IDX file (e.g. train-images-idx3-ubyte), not another format.',
    'E_IDX_MAGIC',
  );
  check(
    type === 0x08,
    `${name} holds elements of type ${hex(type)} (${IDX_TYPES[type] ?? 'unknown type'}); only ` +
      'unsigned-byte IDX files (type 0x08, like MNIST) are supported: convert it to bytes 0 … 255.',
    'E_IDX_TYPE',
  );
  check(
    ndims >= 1 && ndims <= 4,
    `${name} is not a supported IDX file: it declares ${ndims} dimensions, expected 1 … 4; ` +
      'check that it is an IDX file and not corrupt (re-download it).',
    'E_IDX_MAGIC',
  );
  const header = 4 + 4 * ndims;
  check(
    bytes.length >= header,
    `${name} is truncated: its ${ndims}-dimensional header needs ${header} bytes, file has ` +
      `${bytes.length}; re-download it.`,
    'E_IDX_SIZE',
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, d) => a * d, 1);
  const actual = bytes.length - header;
  const declared = `header declares ${dims.join('×')} = ${expected} bytes of data`;
  check(
    actual >= expected,
    `${name} is truncated: ${declared}, file has ${actual}; re-download it.`,
    'E_IDX_SIZE',
  );
  check(
    actual === expected,
    `${name} is longer than its header says: ${declared}, file has ${actual} ` +
      `(${actual - expected} extra); it is corrupt or not a single IDX file: re-download it.`,
    'E_IDX_SIZE',
  );
  return { dims, data: bytes.subarray(header) };
}

/**
 * Parses an IDX3 image file (`count × rows × cols` unsigned bytes), gzipped or not.
 *
 * @throws FfitError as {@link parseIdx}; `E_IDX_SIZE` if it does not have exactly 3 dimensions
 *   or its images have zero rows or columns.
 */
export function parseImages(bytes: Uint8Array, name = 'image file'): IdxImages {
  const { dims, data } = parseIdx(bytes, name);
  check(
    dims.length === 3,
    `${name} has ${dims.length} dimension(s) (${dims.join('×')}), an image file has 3 ` +
      '(count×rows×cols); did you swap the image and label files?',
    'E_IDX_SIZE',
  );
  const [count, rows, cols] = dims as [number, number, number];
  check(
    rows > 0 && cols > 0,
    `${name} declares images of ${rows}×${cols} pixels; images need at least 1×1: re-download it.`,
    'E_IDX_SIZE',
  );
  return { count, rows, cols, pixels: data };
}

/**
 * Parses an IDX1 label file (`count` unsigned bytes), gzipped or not.
 *
 * @throws FfitError as {@link parseIdx}; `E_IDX_SIZE` if it does not have exactly 1 dimension.
 */
export function parseLabels(bytes: Uint8Array, name = 'label file'): IdxLabels {
  const { dims, data } = parseIdx(bytes, name);
  check(
    dims.length === 1,
    `${name} has ${dims.length} dimensions (${dims.join('×')}), a label file has 1 (count); ` +
      'did you swap the image and label files?',
    'E_IDX_SIZE',
  );
  return { count: dims[0]!, labels: data };
}

/**
 * Encodes `data` as an uncompressed IDX file of unsigned bytes (type 0x08) with sizes `dims`
 * (1 … 4 integers in 0 … 2³²−1, outermost first). Gzip the result with fflate's `gzipSync` for a
 * `.gz` file.
 *
 * @throws FfitError `E_OPTION` bad `dims`; `E_SHAPE` if `data.length` ≠ product of `dims`.
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  check(
    dims.length >= 1 && dims.length <= 4,
    `encodeIdx: dims has ${dims.length} entries; IDX files have 1 … 4 dimensions.`,
  );
  for (const d of dims) {
    check(
      Number.isInteger(d) && d >= 0 && d <= 0xffffffff,
      `encodeIdx: dimension ${d} is not an integer in 0 … 4294967295; pass whole sizes.`,
    );
  }
  const expected = dims.reduce((a, d) => a * d, 1);
  check(
    data.length === expected,
    `encodeIdx: dims ${dims.join('×')} = ${expected} bytes but data has ${data.length}; ` +
      'make the dims match the data.',
    'E_SHAPE',
  );
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}
