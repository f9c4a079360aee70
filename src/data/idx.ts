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
import { MAX_SITES } from '../options.js';

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

/** True if `bytes` is a Uint8Array starting with the gzip magic number 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes instanceof Uint8Array && bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Compressed bytes fed to the inflater per step: deflate expands at most 1032:1, so one step yields ≤ 16.1 MiB. */
const GZIP_STEP = 1 << 14;
/** Largest expansion of deflate (RFC 1951: a 258-byte match coded in 2 bits, about 1032:1). */
const DEFLATE_MAX_RATIO = 1032;

/**
 * Decompresses a gzip IDX file as a stream: the IDX header is read from the first bytes out, the
 * output buffer is allocated once at the size it declares, and inflating stops as soon as the
 * output exceeds it (`E_IDX_SIZE`), so a gzip bomb costs at most one step of output. Every member
 * (RFC 1952; `cat a.gz b.gz` is valid gzip, and zcat reads it) is checked against its own trailer
 * (CRC-32 and length), so a truncated or damaged download is refused instead of yielding wrong
 * pixels. Returns exactly the declared bytes (header included).
 */
function gunzipIdx(bytes: Uint8Array, name: string, images: boolean): Uint8Array {
  const fail = (why: string) => new FfitError('E_IDX_GZIP',
    `${name} is not valid gzip data (${why}); the download is probably corrupt or incomplete: ` +
    're-download it, or decompress it yourself with gunzip to see the problem.');
  if (bytes.length < 18) throw fail('shorter than a gzip header and trailer');
  let out: Uint8Array | null = null; // allocated once the header is known
  let prefix = new Uint8Array(0); // the output until then
  let total = 0, member = 0, length = 0, declared = '';
  let crc: number | undefined; // of the current member's data so far (undefined: none yet)
  const take = (chunk: Uint8Array) => {
    if (chunk.length === 0) return;
    crc = crc32(chunk, crc) >>> 0;
    length += chunk.length;
    if (out === null) {
      const joined = new Uint8Array(prefix.length + chunk.length);
      joined.set(prefix);
      joined.set(chunk, prefix.length);
      prefix = joined;
      const head = readHeader(prefix, name, true);
      if (head === null) return;
      const want = head.header + head.expected;
      check(want <= DEFLATE_MAX_RATIO * bytes.length + 1024,
        `${name} is truncated: ${head.declared}, more than its ${bytes.length} bytes of gzip can inflate to ` +
        `(deflate expands at most ${DEFLATE_MAX_RATIO}:1); re-download it.`, 'E_IDX_SIZE');
      if (images) checkImageSize(head.dims, name);
      out = allocate(want, name);
      declared = head.declared;
      chunk = prefix;
      prefix = new Uint8Array(0);
    }
    if (total + chunk.length > out.length) {
      throw new FfitError('E_IDX_SIZE', `${name} is longer than its header says: ${declared}, ` +
        `it inflates to more (at least ${total + chunk.length - out.length} extra bytes, inflating stopped there); ` +
        'it is corrupt or not a single IDX file: re-download it.');
    }
    out.set(chunk, total);
    total += chunk.length;
  };
  // the trailer of the member that ends at `end`: CRC-32 and length (mod 2^32) of its data
  const endMember = (end: number) => {
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + end - 8, 8);
    const storedLength = trailer.getUint32(4, true), storedCrc = trailer.getUint32(0, true), actual = crc ?? 0;
    const single = member === 0 && end === bytes.length, which = single ? '' : ` of member ${member + 1}`;
    if (storedLength !== length % 2 ** 32) throw fail(`${single ? 'its trailer' : `the trailer${which}`} records ${storedLength} bytes, it decompresses to ${length}`);
    if (storedCrc !== actual) throw fail(`CRC-32 ${hex32(actual)} of the data${which} differs from ${hex32(storedCrc)} in its trailer`);
    member++;
    crc = undefined;
    length = 0;
  };
  // Zero bytes after the last member (tape or block padding): GNU gzip ignores them, so do we. The
  // last member then ends at some `end` in the trailing zero run whose 8-byte trailer matches the
  // CRC-32 and length of the data inflated since the previous member (fflate itself stops at the
  // zeros with "invalid gzip data", having emitted all of that member's data).
  let zeros = bytes.length;
  while (zeros > 0 && bytes[zeros - 1] === 0) zeros--;
  const trailerMatches = (end: number): boolean => {
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + end - 8, 8);
    return trailer.getUint32(0, true) === (crc ?? 0) && trailer.getUint32(4, true) === length % 2 ** 32;
  };
  const paddedEnd = (): number => {
    for (let end = Math.max(zeros, 18); end < bytes.length && end <= zeros + 8; end++) if (trailerMatches(end)) return end;
    return -1;
  };
  let end = bytes.length;
  try {
    const g = new Gunzip((chunk) => take(chunk));
    g.onmember = (offset) => endMember(offset);
    for (let at = 0; at < bytes.length; at += GZIP_STEP) g.push(bytes.subarray(at, Math.min(bytes.length, at + GZIP_STEP)), false);
    g.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof FfitError) throw e;
    end = zeros < bytes.length ? paddedEnd() : -1;
    if (end < 0) throw fail((e as Error).message);
  }
  // 1–3 zero bytes are too few for fflate to look for another member: it ends without an error
  if (end === bytes.length && zeros < bytes.length && !trailerMatches(end)) {
    const padded = paddedEnd();
    if (padded >= 0) end = padded;
  }
  endMember(end);
  if (out === null) return prefix; // shorter than its header: parseIdx says so
  return (out as Uint8Array).subarray(0, total);
}

/** A zero-filled array of `n` bytes, or `E_IDX_SIZE` when the engine cannot hold it. */
function allocate(n: number, name: string): Uint8Array {
  try {
    return new Uint8Array(n);
  } catch (e) {
    throw new FfitError('E_IDX_SIZE', `${name} declares ${n} bytes, more than can be held in memory here (${(e as Error).message}); is it corrupt?`);
  }
}

const hex32 = (x: number): string => '0x' + x.toString(16).padStart(8, '0');

/** The file's bytes: a Uint8Array (a Node Buffer is one) or an ArrayBuffer; anything else is `E_SHAPE`. */
function asBytes(bytes: unknown, name: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  const got = bytes === null ? 'null' : ArrayBuffer.isView(bytes) ? `a ${bytes.constructor.name}` : typeof bytes === 'object' ? 'an object' : `a ${typeof bytes}`;
  throw new FfitError('E_SHAPE', `${name} must be the file's bytes as a Uint8Array (e.g. fs.readFileSync(path), or new Uint8Array(await response.arrayBuffer())); got ${got}.`);
}

/**
 * Images larger than any lattice's input layer (more than {@link MAX_SITES} pixels) are `E_SHAPE`.
 * Called once the header agrees with the file's size (a corrupt header is `E_IDX_SIZE` first), and
 * before the pixels are read or inflated.
 */
function checkImageSize(dims: readonly number[], name: string): void {
  check(
    dims.length !== 3 || dims[1]! * dims[2]! <= MAX_SITES,
    `${name} declares images of ${dims[1]}×${dims[2]} = ${dims[1]! * dims[2]!} pixels, more than the ${MAX_SITES} sites ` +
      '(2^24) a lattice layer can hold, so no network could read them; use smaller images (e.g. downsample them), or check that the file is not corrupt.',
    'E_SHAPE',
  );
}

/**
 * Checks the IDX header at the start of `bytes` (the whole file, or with `partial` the first bytes
 * decompressed so far: then null while the header is incomplete). Returns the dimensions, the
 * header length, the declared data bytes and a description for messages.
 */
function readHeader(bytes: Uint8Array, name: string, partial: boolean): { dims: number[]; header: number; expected: number; declared: string } | null {
  if (partial && bytes.length < 4) return null;
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
  if (partial && bytes.length < header) return null;
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
  return { dims, header, expected, declared: `header declares ${dims.join('×')} = ${expected} bytes of data` };
}

/**
 * Parses an IDX file of unsigned bytes (type 0x08), gunzipping it first if it starts with the gzip
 * magic number. `name` (e.g. the file name) is used in error messages.
 *
 * Returns `data` as a view (no copy) into the (decompressed) bytes.
 *
 * @throws FfitError `E_SHAPE` `bytes` is not a Uint8Array or ArrayBuffer;
 *   `E_IDX_GZIP` gzip data that does not decompress or whose CRC-32 or length
 *   differs from its trailer (each member of a multi-member file against its own; zero bytes
 *   after the last member are padding and ignored, as GNU gzip does);
 *   `E_IDX_SIZE` empty, shorter than its header, or data longer/shorter than the header declares
 *   (for gzip, as soon as the output passes the declared size);
 *   `E_IDX_MAGIC` not an IDX file (first two bytes not zero, or dimension count not 1 … 4);
 *   `E_IDX_TYPE` an element type other than unsigned byte.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  return parse(bytes, name, false);
}

/** {@link parseIdx}; with `images`, an image file's header is also checked against {@link MAX_SITES} (`checkImageSize`). */
function parse(bytes: Uint8Array, name: string, images: boolean): IdxArray {
  bytes = asBytes(bytes, name);
  if (isGzip(bytes)) bytes = gunzipIdx(bytes, name, images);
  const { dims, header, expected, declared } = readHeader(bytes, name, false)!;
  const actual = bytes.length - header;
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
  if (images) checkImageSize(dims, name);
  return { dims, data: bytes.subarray(header) };
}

/**
 * Checks an uncompressed IDX file from its first bytes (`head`, at least the 20 bytes of the
 * longest header, or the whole file if shorter) and its size on disk, before the rest is read: a
 * file longer or shorter than its header declares is `E_IDX_SIZE`, and with `images` an image
 * larger than any lattice is `E_SHAPE`. Gzip files (and heads too short for a header) pass: they are
 * checked when parsed.
 */
export function checkIdxHead(head: Uint8Array, fileSize: number, name: string, images: boolean): void {
  if (isGzip(head)) return;
  const h = readHeader(head, name, true);
  if (h === null) return;
  const actual = fileSize - h.header;
  check(actual >= h.expected, `${name} is truncated: ${h.declared}, file has ${actual}; re-download it.`, 'E_IDX_SIZE');
  check(actual === h.expected, `${name} is longer than its header says: ${h.declared}, file has ${actual} ` +
    `(${actual - h.expected} extra); it is corrupt or not a single IDX file: re-download it.`, 'E_IDX_SIZE');
  if (images) checkImageSize(h.dims, name);
}

/**
 * Parses an IDX3 image file (`count × rows × cols` unsigned bytes), gzipped or not.
 *
 * @throws FfitError as {@link parseIdx}; `E_IDX_SIZE` if it does not have exactly 3 dimensions
 *   or its images have zero rows or columns; `E_SHAPE` if its header declares images of more than
 *   `MAX_SITES` (2^24) pixels, before they are inflated.
 */
export function parseImages(bytes: Uint8Array, name = 'image file'): IdxImages {
  const { dims, data } = parse(bytes, name, true);
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
