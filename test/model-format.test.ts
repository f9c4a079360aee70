// The model file (docs/MODEL_FORMAT.md): exact round trip, checksums, versions, migration of
// version 1, refusal of damaged documents, atomic saving.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import canonicalize from 'canonicalize';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, MAX_JSON_DEPTH, MODEL_VERSION, type ModelJSON } from '../src/model-format.js';
import { InterferenceNetwork } from '../src/network.js';
import { loadModel, saveModel } from '../src/node/model-file.js';
import { MAX_TEXT_FILE_BYTES } from '../src/node/read-file.js';
import { expectFfit } from './helpers/ffit-error.js';
import { BACKENDS, randomData } from './helpers/nets.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A small trained network and its document. */
async function trained(backend: (typeof BACKENDS)[number] = 'simd') {
  const net = await InterferenceNetwork.create({ layers: [12, 5, 3], durations: 3, initScale: 1, seed: 3, batchSize: 4, backend, speed: 0.5, tStar: 0.25 });
  const { images, labels } = randomData(9, 16, 12, 3);
  net.fit({ images, labels }, { epochs: 2 });
  return { net, images, labels, text: JSON.stringify(net.toJSON({ classes: [2, 5, 9] }, { testAccuracy: 0.5 })) };
}

/** Recomputes both checksums, so that a test can reach the checks behind them. */
function resign(doc: ModelJSON): ModelJSON {
  const { checksum: _checksum, ...body } = doc;
  const h = sha256.create();
  for (const layer of doc.logits) h.update(Uint8Array.from(atob(layer.data), (c) => c.charCodeAt(0)));
  return {
    ...body,
    checksum: { algorithm: 'sha256', logits: bytesToHex(h.digest()), manifest: bytesToHex(sha256(new TextEncoder().encode(canonicalize(body)!))) },
  } as ModelJSON;
}

describe('round trip', () => {
  it.each(BACKENDS)('is exact on %s: bit-identical logits, same moments, same JSON text', async (backend) => {
    const { net, images, text } = await trained(backend);
    const doc = JSON.parse(text) as ModelJSON;
    expect(doc.format).toBe('ffit-model');
    expect(doc.version).toBe(MODEL_VERSION);
    expect(doc.options.seed).toBe(3);
    expect(doc.options.speed).toBe(0.5);
    expect(doc.options.layers).toEqual([12, 5, 3]);
    expect(Object.keys(doc.options)).toEqual(Object.keys(doc.options).sort());
    expect(doc.training).toEqual({ examplesSeen: 32, metrics: { testAccuracy: 0.5 } });
    expect(doc.meta).toEqual({ classes: [2, 5, 9] });
    expect(doc.logits.map((l) => l.shape)).toEqual([[12, 5, 3], [5, 3, 3]]);
    expect(doc.checksum.logits).toMatch(/^[0-9a-f]{64}$/);

    const back = await InterferenceNetwork.fromJSON(text, backend);
    for (const l of [0, 1]) expect(bits(back.logits(l))).toEqual(bits(net.logits(l)));
    expect(bits(back.moments(images))).toEqual(bits(net.moments(images)));
    expect(back.options).toEqual(net.options);
    expect(back.examplesSeen).toBe(32);
    expect(back.meta).toEqual({ classes: [2, 5, 9] });
    expect(back.metrics).toEqual({ testAccuracy: 0.5 });
    expect(JSON.stringify(back.toJSON())).toBe(text);
    // JSON.stringify(net) calls toJSON(''): the same document
    expect(JSON.stringify(back)).toBe(text);
    net.dispose();
    back.dispose();
  });

  it('keeps speed = Infinity, positions and omega', async () => {
    const net = await InterferenceNetwork.create({ layers: [3, 2], durations: 2, omega: 0.7, positions: [[0, 2, 5], [1, 3]], seed: -5 });
    const doc = net.toJSON();
    expect(doc.options.speed).toBe('Infinity');
    const back = await InterferenceNetwork.fromJSON(doc);
    expect(back.options.speed).toBe(Infinity);
    expect(back.options.positions).toEqual([[0, 2, 5], [1, 3]]);
    expect(back.options.omega).toBe(0.7);
    expect(back.options.seed).toBe(-5);
  });

  it('a file saved on one backend loads on every other with the same moments (Float32 kernels agree to 1e-6)', async () => {
    const { net, images, text } = await trained('simd');
    const want = net.moments(images);
    for (const backend of BACKENDS) {
      const back = await InterferenceNetwork.fromJSON(text, backend);
      expect(back.backendName).toBe(backend);
      const got = back.moments(images);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
      back.dispose();
    }
  });
});

describe('checksums', () => {
  it('a changed byte of the logits is caught by the logits checksum', async () => {
    const { text } = await trained();
    const doc = JSON.parse(text) as ModelJSON;
    const data = doc.logits[1]!.data;
    const i = data.length >> 1; // a byte in the middle of layer 1
    const flipped = text.replace(data, data.slice(0, i) + (data[i] === 'A' ? 'B' : 'A') + data.slice(i + 1));
    expect(flipped).not.toBe(text);
    expect(flipped.length).toBe(text.length);
    await expectFfit(() => InterferenceNetwork.fromJSON(flipped), 'E_MODEL_CHECKSUM', 'The model is corrupted', 'logits do not match their SHA-256 checksum', 'restore the file');
  });

  it('a changed option, training record or metadata is caught by the manifest checksum', async () => {
    const { text } = await trained();
    for (const [from, to] of [['"beta":60', '"beta":61'], ['"examplesSeen":32', '"examplesSeen":33'], ['"classes":[2,5,9]', '"classes":[2,5,8]']] as const) {
      expect(text).toContain(from);
      await expectFfit(() => InterferenceNetwork.fromJSON(text.replace(from, to)), 'E_MODEL_CHECKSUM',
        'its options, training record or metadata do not match the manifest', 'load the model and save it again');
    }
  });

  it('the checksum is SHA-256 of the raw little-endian Float32 logits, independent of the JSON text', async () => {
    const { net, text } = await trained();
    const doc = JSON.parse(text) as ModelJSON;
    const h = sha256.create();
    for (const l of [0, 1]) {
      const values = net.logits(l);
      const le = new Uint8Array(values.length * 4);
      const dv = new DataView(le.buffer);
      values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      h.update(le);
    }
    expect(doc.checksum.logits).toBe(bytesToHex(h.digest()));
    // whitespace and key order are not part of the manifest checksum (RFC 8785 canonical JSON)
    const pretty = JSON.stringify(Object.fromEntries(Object.entries(doc).reverse()), null, 2);
    const back = await InterferenceNetwork.fromJSON(pretty);
    expect(bits(back.logits(0))).toEqual(bits(net.logits(0)));
  });
});

describe('versions', () => {
  it('migrates a version-1 file written by ffit 0.1.0: same logits, same moments and predictions', async () => {
    const expected = JSON.parse(fixture('model-v1.expected.json')) as { images: number[]; moments: number[]; predicted: number[]; logits: number[][] };
    const v1 = fixture('model-v1.json');
    expect(JSON.parse(v1).version).toBe(1);
    for (const backend of ['js', 'simd'] as const) {
      const net = await InterferenceNetwork.fromJSON(v1, backend);
      expect(net.options.layers).toEqual([16, 5, 3]);
      expect(net.meta.classes).toEqual([4, 1, 7]);
      expect(net.examplesSeen).toBe(24);
      for (const l of [0, 1]) expect(Array.from(net.logits(l))).toEqual(expected.logits[l]);
      const images = Float32Array.from(expected.images);
      expect(Array.from(net.predict(images))).toEqual(expected.predicted);
      const m = net.moments(images);
      if (backend === 'js') expect(Array.from(m)).toEqual(expected.moments); // the writer ran on js
      else m.forEach((v, i) => expect(Math.abs(v - expected.moments[i]!)).toBeLessThan(1e-6));
      // saving writes the current version, with checksums
      const again = net.toJSON();
      expect(again.version).toBe(2);
      expect(decodeModel(JSON.stringify(again)).version).toBe(2);
      net.dispose();
    }
    expect(decodeModel(v1).version).toBe(1);
  });

  it('refuses a version-1 file whose logits do not fit its lattice or are not finite', async () => {
    const v1 = JSON.parse(fixture('model-v1.json'));
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...v1, logits: [v1.logits[0]] }), 'E_MODEL',
      'holds 1 logit arrays but its lattice 16→5→3 has 2 layers of routes');
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...v1, logits: [v1.logits[0], btoa('\0\0\0\0')] }), 'E_MODEL',
      'Layer 1 of the logits in the model is unusable: its shape 5×3×3 = 45 values but it holds 1');
    const nan = btoa(String.fromCharCode(...new Uint8Array(new Float32Array(45).fill(NaN).buffer)));
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...v1, logits: [v1.logits[0], nan] }), 'E_MODEL', 'logit 0 is NaN', 'must be finite');
  });

  it('refuses newer versions with the reason, and unknown ones', async () => {
    const { text } = await trained();
    const doc = JSON.parse(text);
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...doc, version: 3 }), 'E_MODEL_VERSION', 'format version 3, written by a newer ffit', 'reads versions 1 and 2', 'upgrade ffit');
    for (const version of [0, -1, 1.5, '2', null]) {
      await expectFfit(() => InterferenceNetwork.fromJSON({ ...doc, version }), 'E_MODEL_VERSION', `has format version ${JSON.stringify(version)}, which no ffit writes`);
    }
    const { version: _v, ...noVersion } = doc;
    await expectFfit(() => InterferenceNetwork.fromJSON(noVersion), 'E_MODEL_VERSION', 'has format version missing');
  });
});

describe('damaged documents', () => {
  it('truncated or non-JSON text', async () => {
    const { text } = await trained();
    for (const cut of [0, 1, text.length >> 1, text.length - 2]) {
      await expectFfit(() => InterferenceNetwork.fromJSON(text.slice(0, cut)), 'E_MODEL', 'is not valid JSON', 'truncated, damaged or not an ffit model');
    }
  });

  it('not an ffit model', async () => {
    for (const [doc, got] of [[{}, 'missing'], [{ format: 'onnx' }, '"onnx"'], ['"text"', 'a JSON string'], ['null', 'a JSON null'], ['42', 'a JSON number']] as const) {
      await expectFfit(() => InterferenceNetwork.fromJSON(doc as never), 'E_MODEL', `is not an ffit model (its "format" is ${got}, expected "ffit-model")`);
    }
  });

  it('malformed structure names the field', async () => {
    const doc = JSON.parse((await trained()).text);
    const cases: [unknown, string][] = [
      [{ ...doc, training: undefined }, 'malformed at "training"'],
      [{ ...doc, extra: 1 }, 'malformed at "(top level)"'],
      [{ ...doc, logits: [] }, 'malformed at "logits"'],
      [{ ...doc, logits: [{ ...doc.logits[0], shape: [12, 0, 3] }, doc.logits[1]] }, 'malformed at "logits[0].shape[1]"'],
      [{ ...doc, logits: [{ ...doc.logits[0], encoding: 'float64' }, doc.logits[1]] }, 'malformed at "logits[0].encoding"'],
      [{ ...doc, checksum: { ...doc.checksum, algorithm: 'md5' } }, 'malformed at "checksum.algorithm"'],
      [{ ...doc, checksum: { ...doc.checksum, logits: 'abc' } }, 'malformed at "checksum.logits"'],
      [{ ...doc, training: { ...doc.training, examplesSeen: -1 } }, 'malformed at "training.examplesSeen"'],
    ];
    for (const [bad, fragment] of cases) await expectFfit(() => InterferenceNetwork.fromJSON(bad as never), 'E_MODEL', fragment, 'use the file that ffit saved');
  });

  it('checks behind a valid checksum: base64, shapes against the lattice, finiteness, options', async () => {
    const doc = JSON.parse((await trained()).text) as ModelJSON;
    const layer0 = doc.logits[0]!;
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, logits: [{ ...layer0, data: layer0.data.slice(1) }, doc.logits[1]!] })),
      'E_MODEL', 'The logits of layer 0 in the model are not valid base64');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, logits: [{ ...layer0, shape: [12, 15] }, doc.logits[1]!] })),
      'E_MODEL', 'Layer 0 of the model has logits of shape 12×15; its dense lattice needs 12×5×3');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, logits: [{ ...layer0, shape: [12, 5, 4] }, doc.logits[1]!] })),
      'E_MODEL', 'its shape 12×5×4 = 240 values but it holds 180');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, logits: [layer0] })),
      'E_MODEL', 'The lattice 12→5→3 of the model needs 2 logit arrays; the file holds 1');
    const inf = new Float32Array(45).fill(-1);
    inf[7] = Infinity;
    const infData = btoa(String.fromCharCode(...new Uint8Array(inf.buffer)));
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, logits: [layer0, { ...doc.logits[1]!, data: infData }] })),
      'E_MODEL', 'Layer 1 of the logits in the model is unusable: logit 7 is Infinity');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, options: { ...doc.options, beta: -1 } })),
      'E_MODEL', 'The model holds invalid options: beta must be a number from 1e-6 to 1e6');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, options: { ...doc.options, future: true } })),
      'E_MODEL', 'holds invalid options: Unknown option "future"');
  });

  it('a tiny file declaring a huge causal lattice is refused from its route counts, before any route table is built (breaker item 2)', async () => {
    const doc = JSON.parse((await trained()).text) as ModelJSON;
    const one = { shape: [1], encoding: doc.logits[0]!.encoding, data: 'AAAAAA==' };
    // 784 → 11 200 000 → 4 over 28 positions: 4.5e9 routes (some GiB of route table if it were built)
    const options = { ...doc.options, topology: 'causal', sequence: 28, layers: [784, 28 * 400000, 4], durations: 4, omega: Math.PI / 2 };
    const rss = process.memoryUsage().rss;
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, options, logits: [one] } as never)),
      'E_MODEL', 'The lattice 784→11200000→4 of the model needs 2 logit arrays; the file holds 1');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign({ ...doc, options, logits: [one, one] } as never)),
      'E_MODEL', `Layer 0 of the model has logits of shape 1; its causal lattice needs ${28 * 400000 * (28 * 29) / 2}×4`);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
  });

  it('a "__proto__" member anywhere is refused, signed or not (zod would drop it before the checksum)', async () => {
    const { text } = await trained();
    const doc = JSON.parse(text) as ModelJSON;
    for (const [from, to, at] of [
      ['"meta":{', '"meta":{"__proto__":{"classes":[9,8,7]},', 'meta.__proto__'],
      ['"metrics":{', '"metrics":{"__proto__":{"testAccuracy":1},', 'training.metrics.__proto__'],
      ['"options":{', '"options":{"__proto__":{"beta":5},', 'options.__proto__'],
    ] as const) {
      const edited = text.replace(from, to);
      expect(edited).not.toBe(text);
      await expectFfit(() => InterferenceNetwork.fromJSON(edited), 'E_MODEL', `The model has a member named "__proto__" (at "${at}")`, 'use the file that ffit saved');
      // re-signed over the text as read (JSON.parse keeps "__proto__" as a member): still refused
      const parsed = JSON.parse(edited) as ModelJSON;
      await expectFfit(() => InterferenceNetwork.fromJSON(resign(parsed)), 'E_MODEL', '"__proto__"');
    }
    await expectFfit(() => encodeModel({ options: decodeModel(doc).options, logits: decodeModel(doc).logits, examplesSeen: 0, meta: JSON.parse('{"__proto__":{"x":1}}') }),
      'E_MODEL', 'meta has a member named "__proto__"', 'cannot be saved');
  });

  it(`nesting deeper than ${MAX_JSON_DEPTH} levels is refused with that reason, reading and writing`, async () => {
    const { text } = await trained();
    const deep = text.replace('"meta":{', `"meta":{"deep":${'['.repeat(20000)}${']'.repeat(20000)},`);
    await expectFfit(() => InterferenceNetwork.fromJSON(deep), 'E_MODEL', `nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels (at "meta.deep[0][0]`, 'ffit never writes that');
    const ok = text.replace('"meta":{', `"meta":{"deep":${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)},`);
    await expectFfit(() => InterferenceNetwork.fromJSON(ok), 'E_MODEL_CHECKSUM'); // deep enough to pass the depth check, then the edit is caught
    let meta: unknown = 1;
    for (let i = 0; i < 20000; i++) meta = { x: meta };
    const { options, logits } = decodeModel(JSON.parse(text));
    await expectFfit(() => encodeModel({ options, logits, examplesSeen: 0, meta: meta as Record<string, unknown> }), 'E_MODEL', "The model's meta", 'nest');
  });

  it('a document object whose members cannot be read is E_MODEL', async () => {
    const { text } = await trained();
    const doc = JSON.parse(text) as ModelJSON;
    Object.defineProperty(doc, 'options', { get() { throw new Error('getter boom'); }, enumerable: true });
    await expectFfit(() => InterferenceNetwork.fromJSON(doc), 'E_MODEL', 'The model cannot be read (getter boom)');
  });

  it('encodeModel refuses what it could not write back exactly', () => {
    const options = { layers: [2, 2], durations: 1 } as never;
    expect(() => encodeModel({ options, logits: [{ shape: [2, 2, 1], values: new Float32Array(3) }], examplesSeen: 0 })).toThrow(/shape 2×2×1 = 4 values but it holds 3/);
    expect(() => encodeModel({ options, logits: [{ shape: [2, 2, 1], values: Float32Array.of(0, NaN, 0, 0) }], examplesSeen: 0 })).toThrow(/logit 1 is NaN/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeModel({ options, logits: [{ shape: [4], values: new Float32Array(4) }], examplesSeen: 0, meta: cyclic })).toThrow(/meta cannot be saved as JSON/);
  });
});

describe('model files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffit-model-'));

  it('saveModel writes atomically: the old file is replaced whole and no temporary file is left', async () => {
    const path = join(dir, 'sub', 'm.json');
    const { net, text } = await trained();
    saveModel(path, net.toJSON());
    writeFileSync(join(dir, 'sub', 'keep.txt'), 'x');
    net.trainBatch(...(Object.values(randomData(1, 4, 12, 3)) as [Float32Array, Int32Array]));
    saveModel(path, net.toJSON());
    expect(readdirSync(join(dir, 'sub')).sort()).toEqual(['keep.txt', 'm.json']);
    const back = await loadModel(path);
    expect(bits(back.logits(0))).toEqual(bits(net.logits(0)));
    expect(readFileSync(path, 'utf8')).not.toBe(text + '\n');
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
  });

  it('errors name the path', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format":"ffit-model","version":2');
    await expectFfit(() => loadModel(bad), 'E_MODEL', `Model file ${bad} is not valid JSON`);
    await expectFfit(() => loadModel(join(dir, 'missing.json')), 'E_MODEL', 'Cannot read model file', '(ENOENT)', 'check the path');
    mkdirSync(join(dir, 'adir'));
    const { net } = await trained();
    await expectFfit(() => saveModel(join(dir, 'adir'), net.toJSON()), 'E_MODEL', `Cannot write the model to ${join(dir, 'adir')}`, 'choose another --out path');
    expect(existsSync(join(dir, 'adir'))).toBe(true);
  });

  it('loadModel stats the file first: devices, FIFOs, directories and files above 512 MiB are refused before reading (breaker 2, item 1)', async () => {
    const fix = 'check the path (it must be a file written by `ffit train`).';
    await expectFfit(() => loadModel('/dev/zero'), 'E_MODEL', `Model file /dev/zero is a character device, not a regular file (it could be read forever or block); ${fix}`);
    const link = join(dir, 'zero-link.json');
    symlinkSync('/dev/zero', link);
    await expectFfit(() => loadModel(link), 'E_MODEL', `Model file ${link} is a character device`);
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await expectFfit(() => loadModel(fifo), 'E_MODEL', `Model file ${fifo} is a FIFO (named pipe), not a regular file`);
    mkdirSync(join(dir, 'dir.json'));
    await expectFfit(() => loadModel(join(dir, 'dir.json')), 'E_MODEL', `Model file ${join(dir, 'dir.json')} is a directory, not a regular file; ${fix}`);
    const big = join(dir, 'big.json'); // sparse: no disk space used
    writeFileSync(big, '{');
    truncateSync(big, 3 * 2 ** 30);
    try {
      await expectFfit(() => loadModel(big), 'E_MODEL', `Model file ${big} is 3.00 GiB (3221225472 bytes), more than the 512.0 MiB ffit reads (${MAX_TEXT_FILE_BYTES} bytes)`, fix);
    } finally {
      rmSync(big);
    }
  });

  it('saveModel validates the document before replacing a file: an invalid one never overwrites a model (breaker 2, item 6)', async () => {
    const path = join(dir, 'victim.json');
    const { net } = await trained();
    saveModel(path, net.toJSON());
    const before = readFileSync(path, 'utf8');
    await expectFfit(() => saveModel(path, { format: 'ffit-model' } as unknown as ModelJSON), 'E_MODEL_VERSION', `The model to save to ${path} has format version missing`);
    await expectFfit(() => saveModel(path, null as unknown as ModelJSON), 'E_MODEL', `The model to save to ${path} is not an ffit model (its "format" is a JSON null`);
    const edited = net.toJSON();
    edited.training.examplesSeen += 1; // without re-signing
    await expectFfit(() => saveModel(path, edited), 'E_MODEL_CHECKSUM', `The model to save to ${path} is corrupted or was edited`);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('victim'))).toEqual(['victim.json']);
  });
});

describe('model documents: strict version 1, padded base64, clear messages for non-documents (breaker 2, items 11 and 12)', () => {
  const v1 = () => JSON.parse(fixture('model-v1.json')) as Record<string, unknown>;

  it('version 1 refuses members ffit 0.1 never wrote, a checksum included', async () => {
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...v1(), evil: 1 } as never), 'E_MODEL', 'The model is malformed at "(top level)": unknown member "evil"');
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...v1(), checksum: { algorithm: 'sha256', logits: '0'.repeat(64), manifest: '0'.repeat(64) } } as never),
      'E_MODEL', 'unknown member "checksum"');
  });

  it('base64 without its padding is refused in both versions', async () => {
    // the fixture's layers (16→5→3, D = 3) need no padding; with D = 2 layer 0 is 640 bytes, base64 ending in "=="
    const doc = v1() as { options: Record<string, unknown>; logits: string[] };
    const zeros = (n: number) => Buffer.from(new Float32Array(n).buffer).toString('base64');
    const padded = { ...doc, options: { ...doc.options, durations: 2 }, logits: [zeros(160), zeros(30)] };
    expect(padded.logits[0]!.endsWith('==')).toBe(true);
    expect((await InterferenceNetwork.fromJSON(padded as never)).logits(0).length).toBe(160);
    await expectFfit(() => InterferenceNetwork.fromJSON({ ...padded, logits: [padded.logits[0]!.replace(/=+$/, ''), padded.logits[1]!] } as never),
      'E_MODEL', 'The logits of layer 0 in the model are not valid base64 (standard alphabet, padded)');
    const net = await InterferenceNetwork.create({ layers: [5, 2], durations: 1, seed: 1 }); // 10 logits = 40 bytes: base64 ends in "="
    const v2 = net.toJSON();
    expect(v2.logits[0]!.data.endsWith('=')).toBe(true);
    v2.logits[0]!.data = v2.logits[0]!.data.replace(/=+$/, '');
    await expectFfit(() => InterferenceNetwork.fromJSON(resign(v2)), 'E_MODEL', 'The logits of layer 0 in the model are not valid base64');
  });

  it('an array, a Buffer and a version JSON cannot hold are named as such', async () => {
    const doc = JSON.parse(JSON.stringify((await trained()).net.toJSON()));
    const array = Object.assign([], doc);
    await expectFfit(() => InterferenceNetwork.fromJSON(array as never), 'E_MODEL', 'The model is a JSON array, not an ffit model (a model file is one JSON object with "format": "ffit-model")');
    await expectFfit(() => InterferenceNetwork.fromJSON('[1,2]'), 'E_MODEL', 'The model is a JSON array');
    await expectFfit(() => InterferenceNetwork.fromJSON(Buffer.from(JSON.stringify(doc)) as never), 'E_MODEL',
      'The model is a Buffer of bytes, not a model document; pass the JSON text (e.g. readFileSync(path, "utf8")');
    await expectFfit(() => InterferenceNetwork.fromJSON(new Uint8Array(4).buffer as never), 'E_MODEL', 'The model is an ArrayBuffer of bytes');
    await expectFfit(() => InterferenceNetwork.fromJSON(JSON.stringify(doc).replace('"version":2', '"version":1e400')), 'E_MODEL_VERSION',
      'The model has format version Infinity (a number too large for JSON, e.g. 1e400), which no ffit writes');
  });
});
