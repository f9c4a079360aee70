/**
 * The ffit model file: format `ffit-model`, version 2 (docs/MODEL_FORMAT.md is the specification).
 * Encodes, validates, checksums and migrates model documents. Browser-safe (no `fs`, `process` or
 * `Buffer`), so Node and browsers read and write the same files.
 *
 * A document is one JSON object: a manifest (format, version, options including the seed, training
 * metrics, caller metadata), the route logits θ of every layer as little-endian Float32 in base64,
 * and two SHA-256 checksums (of the raw logits bytes, and of the RFC 8785 canonical JSON of the
 * whole document without its `checksum` member). Hashing is `@noble/hashes` (synchronous, same
 * code in Node and browsers); canonical JSON is `canonicalize` (RFC 8785); structure checks are
 * `zod/mini` (the tree-shakable build, for small browser bundles). Version 1 files (no checksum, written by ffit 0.1 before this format) are migrated.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import canonicalize from 'canonicalize';
import * as z from 'zod/mini';
import { FfitError, type FfitErrorCode } from './errors.js';
import { resolveOptions, type FfitOptions, type ResolvedOptions } from './options.js';

/** Value of the `format` member of every ffit model document. */
export const MODEL_FORMAT = 'ffit-model';
/** Format version this ffit writes. */
export const MODEL_VERSION = 2;
/** Format versions this ffit reads (older ones are migrated on load). */
export const MODEL_VERSIONS_READ: readonly number[] = [1, 2];
/**
 * Deepest nesting of objects and arrays in a model document (the document itself is level 0,
 * `meta` level 1): ffit writes 3 levels plus what `meta` and `metrics` hold. Deeper documents are
 * refused before they are hashed or validated (both recurse).
 */
export const MAX_JSON_DEPTH = 64;
/** How a layer's logits are stored: little-endian IEEE-754 binary32, row-major, standard base64 with padding. */
export const LOGITS_ENCODING = 'float32-le-base64';

/** The lattice and training options as stored: {@link ResolvedOptions} without the runtime choices `backend` and `threads`. */
export type ModelOptions = Omit<ResolvedOptions, 'backend' | 'threads'>;

/** One layer's logits in a version-2 document. */
export interface LogitsJSON {
  /** Dimensions, outermost first; `N_ℓ × N_{ℓ+1} × D` for a dense layer. Product = number of values. */
  shape: number[];
  encoding: typeof LOGITS_ENCODING;
  /** `shape` product × 4 bytes, base64. */
  data: string;
}

/** A version-2 model document (docs/MODEL_FORMAT.md), as written by {@link encodeModel}. */
export interface ModelJSON {
  format: typeof MODEL_FORMAT;
  version: 2;
  /** Every option of DESIGN.md that defines the lattice and training (seed included), keys sorted; ∞ as the string "Infinity". */
  options: Record<string, unknown>;
  training: {
    /** Examples trained on (integer ≥ 0). */
    examplesSeen: number;
    /** What the writer measured (e.g. `testAccuracy`), JSON values. */
    metrics: Record<string, unknown>;
  };
  /** Anything the writer attached (e.g. `classes`, `data`), JSON values. */
  meta: Record<string, unknown>;
  /** θ^ℓ for ℓ = 0 … L−1. */
  logits: LogitsJSON[];
  checksum: {
    algorithm: 'sha256';
    /** SHA-256 (hex) of every layer's raw little-endian Float32 bytes, concatenated in layer order. */
    logits: string;
    /** SHA-256 (hex) of the RFC 8785 canonical JSON (UTF-8) of this document without `checksum`. */
    manifest: string;
  };
}

/** A version-1 document (ffit 0.1 `toJSON`): no checksum, dense logits as bare base64 strings. */
export interface ModelJSONv1 {
  format: typeof MODEL_FORMAT;
  version: 1;
  options: Record<string, unknown>;
  logits: string[];
  examplesSeen: number;
  meta?: Record<string, unknown>;
}

/** One layer's logits in memory. */
export interface LayerLogits {
  /** Dimensions, outermost first (dense: `N_ℓ × N_{ℓ+1} × D`). */
  shape: readonly number[];
  /** Row-major θ values, finite, `product(shape)` of them. */
  values: Float32Array;
}

/** What a model file holds, in memory: the input of {@link encodeModel}. */
export interface ModelContent {
  /** Resolved options (`backend` and `threads` are ignored: a file does not pin them). */
  options: ModelOptions | ResolvedOptions;
  logits: LayerLogits[];
  examplesSeen: number;
  metrics?: Record<string, unknown>;
  meta?: Record<string, unknown>;
}

/** The output of {@link decodeModel}: validated content and the version the document was written in. */
export interface DecodedModel {
  options: ModelOptions;
  logits: LayerLogits[];
  examplesSeen: number;
  metrics: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Format version of the document read (1 = migrated, unverified: version 1 has no checksum). */
  version: number;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Builds a version-2 document from `content`: options with sorted keys (∞ as "Infinity"), each
 * layer's logits as little-endian Float32 base64, and both checksums. Exact: {@link decodeModel}
 * returns the same options and bit-identical logits, and re-encoding gives the same JSON text.
 *
 * @throws FfitError `E_MODEL` when a layer's shape does not match its values, a logit is not
 *   finite, or `metrics` / `meta` are not JSON-serialisable (cycles, BigInt, lone surrogates,
 *   nesting deeper than {@link MAX_JSON_DEPTH}, a member named `__proto__`).
 */
export function encodeModel(content: ModelContent): ModelJSON {
  const c = content as Partial<ModelContent> | null;
  check(typeof c === 'object' && c !== null && typeof c.options === 'object' && c.options !== null && Array.isArray(c.logits) &&
    c.logits.every((l) => typeof l === 'object' && l !== null && Array.isArray(l.shape) && l.values instanceof Float32Array),
    `a model to encode must be { options, logits: [{ shape, values: Float32Array }], examplesSeen, metrics, meta } (what network.toJSON() encodes); got ${content === null ? 'null' : Array.isArray(content) ? 'an array' : typeof content === 'object' ? 'another object' : typeof content}.`, 'E_MODEL');
  const { backend: _backend, threads: _threads, ...options } = content.options as ResolvedOptions;
  const logits = content.logits.map((layer, l) => {
    checkLayer(layer.shape, layer.values, l, 'cannot be saved');
    return { shape: [...layer.shape], encoding: LOGITS_ENCODING, data: toBase64(f32ToLeBytes(layer.values)) } as LogitsJSON;
  });
  check(Number.isSafeInteger(content.examplesSeen) && content.examplesSeen >= 0,
    `examplesSeen must be an integer ≥ 0 to be saved; got ${content.examplesSeen}.`, 'E_MODEL');
  const body = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    options: storeOptions(options),
    training: { examplesSeen: content.examplesSeen, metrics: plainJson(content.metrics ?? {}, 'metrics', 2) },
    meta: plainJson(content.meta ?? {}, 'meta', 1),
    logits,
  } as const;
  return {
    ...body,
    checksum: {
      algorithm: 'sha256',
      logits: logitsDigest(content.logits.map((layer) => f32ToLeBytes(layer.values))),
      manifest: manifestDigest(body),
    },
  } as ModelJSON;
}

/** Options as stored: keys sorted (a fixed text for the same options), non-finite numbers as strings. */
function storeOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(options).sort()) {
    const v = options[key];
    out[key] = typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  }
  return out;
}

/** A JSON-only deep copy (NaN and ±∞ become null, as JSON.stringify does). */
function plainJson(value: Record<string, unknown>, what: string, depth: number): Record<string, unknown> {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (err) {
    const why = err instanceof RangeError ? `it nests objects or arrays too deeply; at most ${MAX_JSON_DEPTH - depth} levels are allowed` : (err as Error).message;
    throw new FfitError('E_MODEL', `The model's ${what} cannot be saved as JSON (${why}); pass plain numbers, strings, arrays and objects.`);
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new FfitError('E_MODEL', `The model's ${what} must be a JSON object (key → value); got ${Array.isArray(copy) ? 'an array' : typeof copy}.`);
  }
  checkTree(copy, `the model's ${what}`, depth, what, 'cannot be saved: pass plain JSON data without such members');
  try {
    canonicalize(copy);
  } catch (err) {
    throw new FfitError('E_MODEL', `The model's ${what} cannot be saved as JSON (${(err as Error).message}); pass plain numbers, strings, arrays and objects.`);
  }
  return copy as Record<string, unknown>;
}

/**
 * Walks a parsed JSON value without recursion: refuses nesting deeper than {@link MAX_JSON_DEPTH}
 * (counting from the document, `depth` being the level of `value`) and members named `__proto__`,
 * which JSON.parse keeps as data but any object copy (zod's included) would turn into a prototype,
 * dropping them from the checksum. `path` names `value` in messages, `fix` ends them.
 */
function checkTree(value: unknown, source: string, depth: number, path: string, fix: string): void {
  const stack: [unknown, number, string][] = [[value, depth, path]];
  while (stack.length > 0) {
    const [v, level, at] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (level >= MAX_JSON_DEPTH) {
      fail('E_MODEL', `${source} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels (at "${at.length > 48 ? `${at.slice(0, 48)}…` : at}"); ffit never writes that: ${fix}.`);
    }
    for (const key of Object.keys(v)) {
      if (key === '__proto__') {
        fail('E_MODEL', `${source} has a member named "__proto__" (at "${at ? `${at}.` : ''}__proto__"), which would change the prototype of the object read; ffit never writes one: ${fix}.`);
      }
      stack.push([(v as Record<string, unknown>)[key], level + 1, Array.isArray(v) ? `${at}[${key}]` : at ? `${at}.${key}` : key]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

const hex64 = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (a SHA-256)'));
const record = z.record(z.string(), z.unknown());
const count = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));

const layerV2 = z.strictObject({
  shape: z.array(z.int().check(z.minimum(1), z.maximum(2 ** 32))).check(z.minLength(1), z.maxLength(8)),
  encoding: z.literal(LOGITS_ENCODING),
  data: z.string(),
});

const documentV2 = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(2),
  options: record,
  training: z.strictObject({ examplesSeen: count, metrics: record }),
  meta: record,
  logits: z.array(layerV2).check(z.minLength(1)),
  checksum: z.strictObject({ algorithm: z.literal('sha256'), logits: hex64, manifest: hex64 }),
});

// strict like version 2: ffit 0.1 wrote exactly these members, so anything else (a `checksum`, say) is an edit
const documentV1 = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(1),
  options: record,
  logits: z.array(z.string()).check(z.minLength(1)),
  examplesSeen: count,
  meta: z.optional(record),
});

/**
 * Reads a model document (JSON text or the parsed object): checks the format and version,
 * migrates version 1, validates the structure, verifies both SHA-256 checksums (version 2),
 * validates the options (`resolveOptions`), each layer's shape against its values, and that every
 * logit is finite. `source` names the document in messages (e.g. its path).
 *
 * Returns options without `backend`, one {@link LayerLogits} per layer (shapes as stored: the
 * caller checks them against its lattice), training metrics and metadata.
 *
 * @throws FfitError `E_MODEL` not JSON, not an ffit model, nesting deeper than
 *   {@link MAX_JSON_DEPTH}, a member named `__proto__`, malformed structure, invalid options,
 *   bad base64, shape/values mismatch, non-finite logits, a document object that cannot be read; `E_MODEL_VERSION` a version this ffit
 *   cannot read (newer: upgrade ffit); `E_MODEL_CHECKSUM` logits or manifest changed since saving.
 */
export function decodeModel(input: unknown, source = 'the model'): DecodedModel {
  try {
    return decode(input, source);
  } catch (err) {
    if (err instanceof FfitError) throw err;
    // e.g. a getter of a document object that throws: the document cannot be read
    return fail('E_MODEL', `${source} cannot be read (${(err as Error)?.message ?? String(err)}); pass the JSON text of a model file or the object that toJSON() returned.`);
  }
}

function decode(input: unknown, source: string): DecodedModel {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (err) {
      fail('E_MODEL', `${source} is not valid JSON (${(err as Error).message}): the file is truncated, damaged or not an ffit model; use the file that ffit saved.`);
    }
  }
  if (doc instanceof Uint8Array || doc instanceof ArrayBuffer) {
    fail('E_MODEL', `${source} is ${doc instanceof Uint8Array ? `a ${doc.constructor.name}` : 'an ArrayBuffer'} of bytes, not a model document; ` +
      'pass the JSON text (e.g. readFileSync(path, "utf8"), or new TextDecoder().decode(bytes)) or the object that toJSON() returned.');
  }
  if (Array.isArray(doc)) {
    fail('E_MODEL', `${source} is a JSON array, not an ffit model (a model file is one JSON object with "format": "${MODEL_FORMAT}"); pass a model file written by \`ffit train\` or saveModel().`);
  }
  if (typeof doc !== 'object' || doc === null || (doc as { format?: unknown }).format !== MODEL_FORMAT) {
    const format = typeof doc === 'object' && doc !== null ? JSON.stringify((doc as { format?: unknown }).format) ?? 'missing' : `a JSON ${doc === null ? 'null' : typeof doc}`;
    fail('E_MODEL', `${source} is not an ffit model (its "format" is ${format}, expected "${MODEL_FORMAT}"); pass a model file written by \`ffit train\` or saveModel().`);
  }
  checkTree(doc, source, 0, '', 'the file was edited or damaged: use the file that ffit saved');
  const version = (doc as { version?: unknown }).version;
  if (version === 1) return decodeV1(parse(documentV1, doc, source), source);
  if (version === 2) return decodeV2(parse(documentV2, doc, source), doc as Record<string, unknown>, source);
  if (typeof version === 'number' && Number.isInteger(version) && version > MODEL_VERSION) {
    fail('E_MODEL_VERSION', `${source} is format version ${version}, written by a newer ffit; this ffit reads versions ${MODEL_VERSIONS_READ.join(' and ')}: upgrade ffit to load it.`);
  }
  // a number JSON cannot hold (1e400 parses as Infinity) is shown as the value read, not as JSON's null
  const shown = typeof version === 'number' && !Number.isFinite(version) ? `${version} (a number too large for JSON, e.g. 1e400)` : JSON.stringify(version) ?? 'missing';
  return fail('E_MODEL_VERSION', `${source} has format version ${shown}, which no ffit writes (known versions: ${MODEL_VERSIONS_READ.join(', ')}); the file is damaged: use the file that ffit saved.`);
}

function parse<T>(schema: z.ZodMiniType<T>, doc: unknown, source: string): T {
  const result = z.safeParse(schema, doc);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
  return fail('E_MODEL', `${source} is malformed at "${path || '(top level)'}": ${describeIssue(issue)}. The file was edited or damaged; use the file that ffit saved.`);
}

/** Words for a zod issue (zod/mini carries no locale, so its own messages are only "Invalid input"). */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': return `expected ${issue.expected === 'int' ? 'an integer' : `a value of type ${issue.expected}`}`;
    case 'invalid_value': return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'too_small': return issue.origin === 'array' ? `expected at least ${issue.minimum} entries` : `expected a number ≥ ${issue.minimum}`;
    case 'too_big': return issue.origin === 'array' ? `expected at most ${issue.maximum} entries` : `expected a number ≤ ${issue.maximum}`;
    case 'unrecognized_keys': return `unknown member${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    default: return issue.message;
  }
}

/** `doc` is the validated document, `raw` the one read: the manifest is hashed from `raw`, so nothing a schema copy leaves out escapes the checksum. */
function decodeV2(doc: z.infer<typeof documentV2>, raw: Record<string, unknown>, source: string): DecodedModel {
  const bytes = doc.logits.map((layer, l) => fromBase64(layer.data, l, source));
  const logitsHash = logitsDigest(bytes);
  if (logitsHash !== doc.checksum.logits) {
    fail('E_MODEL_CHECKSUM', `${source} is corrupted: its logits do not match their SHA-256 checksum (stored ${doc.checksum.logits.slice(0, 12)}…, computed ${logitsHash.slice(0, 12)}…), so a byte changed or went missing after saving; restore the file from a copy or retrain.`);
  }
  const { checksum } = doc;
  const { checksum: _checksum, ...body } = raw;
  const manifestHash = manifestDigest(body, source);
  if (manifestHash !== checksum.manifest) {
    fail('E_MODEL_CHECKSUM', `${source} is corrupted or was edited: its options, training record or metadata do not match the manifest's SHA-256 checksum (stored ${checksum.manifest.slice(0, 12)}…, computed ${manifestHash.slice(0, 12)}…); restore the file from a copy or retrain (to change metadata, load the model and save it again).`);
  }
  const options = loadOptions(doc.options, source);
  const logits = doc.logits.map((layer, l) => {
    const values = leBytesToF32(bytes[l]!, l, source);
    checkLayer(layer.shape, values, l, `in ${source} is unusable`);
    return { shape: layer.shape, values };
  });
  return { options, logits, examplesSeen: doc.training.examplesSeen, metrics: doc.training.metrics, meta: doc.meta, version: 2 };
}

function decodeV1(doc: z.infer<typeof documentV1>, source: string): DecodedModel {
  const options = loadOptions(doc.options, source);
  const sizes = options.layers, D = options.durations;
  if (doc.logits.length !== sizes.length - 1) {
    fail('E_MODEL', `${source} holds ${doc.logits.length} logit arrays but its lattice ${sizes.join('→')} has ${sizes.length - 1} layers of routes; the file is damaged: use the file that ffit saved.`);
  }
  const logits = doc.logits.map((b64, l) => {
    const values = leBytesToF32(fromBase64(b64, l, source), l, source);
    const shape = [sizes[l]!, sizes[l + 1]!, D]; // version 1 was dense only
    checkLayer(shape, values, l, `in ${source} is unusable`);
    return { shape, values };
  });
  return { options, logits, examplesSeen: doc.examplesSeen, metrics: {}, meta: doc.meta ?? {}, version: 1 };
}

/** Validates stored options with `resolveOptions`; `E_OPTION` becomes `E_MODEL` naming the file. */
function loadOptions(stored: Record<string, unknown>, source: string): ModelOptions {
  const raw: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(stored)) {
    raw[key] = v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
  }
  // files written before `renormalize` existed were trained without it (its default is now "auto")
  if (!('renormalize' in raw)) raw.renormalize = false;
  try {
    const { backend: _backend, threads: _threads, ...options } = resolveOptions(raw as unknown as FfitOptions);
    return options;
  } catch (err) {
    if (err instanceof FfitError) {
      fail('E_MODEL', `${source} holds invalid options: ${err.message} The file is damaged or was written by an incompatible ffit.`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers: shapes, bytes, base64, digests

/** Throws; the message may start with a source name such as "the model", so it is capitalised. */
function fail(code: FfitErrorCode, message: string): never {
  throw new FfitError(code, message.charAt(0).toUpperCase() + message.slice(1));
}

function check(ok: boolean, message: string, code: FfitErrorCode): asserts ok {
  if (!ok) fail(code, message);
}

/** Shape entries positive integers whose product is the number of values; every value finite. */
function checkLayer(shape: readonly number[], values: Float32Array, l: number, what: string): void {
  const valid = Array.isArray(shape) && shape.length >= 1 && shape.every((n) => Number.isSafeInteger(n) && n >= 1);
  const product = valid ? shape.reduce((a, n) => a * n, 1) : NaN;
  check(valid && product === values.length,
    `Layer ${l} of the logits ${what}: its shape ${Array.isArray(shape) ? shape.join('×') : String(shape)} ` +
    `${valid ? `= ${product} values` : 'is not a list of positive integers'} but it holds ${values.length}; ` +
    'the file is damaged or not written by ffit.', 'E_MODEL');
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      fail('E_MODEL', `Layer ${l} of the logits ${what}: logit ${i} is ${values[i]}; route logits must be finite numbers (the file is damaged or was written by a faulty program).`);
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raw little-endian bytes of `values` (a copy). */
function f32ToLeBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
  }
  return bytes;
}

function leBytesToF32(bytes: Uint8Array, l: number, source: string): Float32Array {
  check(bytes.length % 4 === 0, `The logits of layer ${l} in ${source} are ${bytes.length} bytes, not a whole number of Float32 values; the file is damaged.`, 'E_MODEL');
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

function toBase64(bytes: Uint8Array): string {
  // chunks of 8 Ki bytes: apply() with far more arguments is slower, and may exceed the stack
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x2000) {
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]));
  }
  return btoa(parts.join(''));
}

/** Alphabet and trailing padding; with length % 4 = 0 this is exactly padded standard base64. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (padding required, no whitespace) → bytes. */
function fromBase64(b64: string, l: number, source: string): Uint8Array {
  check(b64.length % 4 === 0 && BASE64.test(b64), `The logits of layer ${l} in ${source} are not valid base64 (standard alphabet, padded); the file is damaged: use the file that ffit saved.`, 'E_MODEL');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function logitsDigest(layers: readonly Uint8Array[]): string {
  const h = sha256.create();
  for (const bytes of layers) h.update(bytes);
  return bytesToHex(h.digest());
}

/** SHA-256 of the RFC 8785 canonical JSON of `body` (the document without `checksum`). */
function manifestDigest(body: object, source = 'the model'): string {
  let text: string | undefined;
  try {
    text = canonicalize(body);
  } catch (err) {
    fail('E_MODEL', `${source} cannot be checksummed (${(err as Error).message}); it holds text that is not well-formed Unicode: use the file that ffit saved.`);
  }
  return bytesToHex(sha256(utf8ToBytes(text ?? '')));
}
