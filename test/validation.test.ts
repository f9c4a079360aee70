// Every bad input of issue 7 item 3 through the API: the FfitError code and a message that names
// the problem, the value and the fix. (The same inputs through the CLI: cli-errors.test.ts.)
import { gzipSync } from 'fflate';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, parseImages, parseLabels } from '../src/data/idx.js';
import { fromIdx, sampleShots, selectClasses, splitValidation } from '../src/data/dataset.js';
import { loadIdxDir } from '../src/data/mnist.js';
import { FFIT_ERROR_CODES, FfitError } from '../src/errors.js';
import { WasmBackend } from '../src/backend/wasm.js';
import { InterferenceNetwork } from '../src/network.js';
import { LIMITS, resolveOptions, type FfitOptions } from '../src/options.js';
import { Rng } from '../src/rng.js';
import { sitePositions } from '../src/options.js';
import { buildRoutes, connected } from '../src/topology.js';
import { resolveBackend } from '../src/backend/index.js';
import { phaseColour } from '../src/svg.js';
import { tokenizer, toTokens } from '../src/data/tokens.js';
import { encodeModel } from '../src/model-format.js';
import { checkSources } from '../src/validate.js';
import { countWorldlines, energyOverPeriod, topWorldlines } from '../src/worldlines.js';
import { expectFfit } from './helpers/ffit-error.js';
import { BACKENDS, randomData } from './helpers/nets.js';

describe('IDX files', () => {
  const images = encodeIdx([2, 2, 3], Uint8Array.from({ length: 12 }, (_, i) => i + 1));

  it('magic, type code, dimensions, truncation, extra bytes, gzip', async () => {
    await expectFfit(() => parseIdx(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), 'data.zip'), 'E_IDX_MAGIC', 'data.zip is not an IDX file: it starts with 0x50 0x4b');
    const int32 = images.slice();
    int32[2] = 0x0c;
    await expectFfit(() => parseIdx(int32, 'f'), 'E_IDX_TYPE', 'type 0x0c (int32)', 'convert it to bytes 0 … 255');
    const fiveDims = images.slice();
    fiveDims[3] = 5;
    await expectFfit(() => parseIdx(fiveDims, 'f'), 'E_IDX_MAGIC', 'declares 5 dimensions, expected 1 … 4');
    await expectFfit(() => parseIdx(images.subarray(0, images.length - 1), 'f'), 'E_IDX_SIZE', 'truncated', '2×2×3 = 12 bytes of data, file has 11', 're-download');
    await expectFfit(() => parseIdx(Uint8Array.of(...images, 0, 0), 'f'), 'E_IDX_SIZE', 'longer than its header says', '2 extra');
    await expectFfit(() => parseIdx(new Uint8Array(0), 'f'), 'E_IDX_SIZE', 'f is empty (0 bytes)');
    await expectFfit(() => parseIdx(gzipSync(images).subarray(0, 20), 'f.gz'), 'E_IDX_GZIP', 'f.gz is not valid gzip data', 're-download');
    await expectFfit(() => parseIdx(gzipSync(Uint8Array.of(1, 2, 3, 4, 5)), 'png.gz'), 'E_IDX_MAGIC', 'png.gz is not an IDX file');
  });

  it('gzip trailers: a changed CRC-32 or length, a truncated or damaged stream, never a 4 GiB allocation', async () => {
    const gz = gzipSync(images, { level: 0 }); // stored block: a changed data byte still inflates
    expect(Array.from(parseIdx(gz).data)).toEqual(Array.from(images.subarray(16)));
    const flipped = gz.slice();
    flipped[gz.length - 8 - 3] ^= 0x01; // a pixel inside the stored block
    await expectFfit(() => parseIdx(flipped, 'a.gz'), 'E_IDX_GZIP', 'a.gz is not valid gzip data (CRC-32 0x', 'differs from 0x', 'in its trailer');
    const length = gz.slice();
    length.set([0xff, 0xff, 0xff, 0xff], gz.length - 4);
    const rss = process.memoryUsage().rss;
    await expectFfit(() => parseIdx(length, 'b.gz'), 'E_IDX_GZIP', 'its trailer records 4294967295 bytes, it decompresses to 28');
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    await expectFfit(() => parseIdx(gz.subarray(0, gz.length - 3), 'c.gz'), 'E_IDX_GZIP', 'c.gz is not valid gzip data');
    await expectFfit(() => parseIdx(Uint8Array.of(0x1f, 0x8b), 'd.gz'), 'E_IDX_GZIP', 'd.gz is not valid gzip data');
  });

  /**
   * A gzip member whose deflate stream (fixed Huffman codes, written by hand) spells `prefix` and then
   * repeats its last byte `copies` × 258 times (a length-258 match at distance 1 costs 13 bits): a
   * bomb of 159:1 that the test builds without ever holding its output. The trailer is left zero.
   */
  function gzipBomb(prefix: Uint8Array, copies: number): Uint8Array {
    const out = new Uint8Array(10 + Math.ceil((3 + 9 * prefix.length + 13 * copies + 7) / 8) + 8);
    out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let bit = 80;
    const put = (value: number, n: number) => { // LSB first
      for (let i = 0; i < n; i++, bit++) if ((value >> i) & 1) out[bit >> 3] = out[bit >> 3]! | (1 << (bit & 7));
    };
    const code = (value: number, n: number) => { // Huffman codes: MSB first
      for (let i = n - 1; i >= 0; i--, bit++) if ((value >> i) & 1) out[bit >> 3] = out[bit >> 3]! | (1 << (bit & 7));
    };
    put(1, 1); // final block
    put(1, 2); // fixed Huffman codes
    for (const b of prefix) if (b < 144) code(0x30 + b, 8); else code(0x190 + b - 144, 9);
    for (let i = 0; i < copies; i++) {
      code(0b11000101, 8); // length 258 (code 285)
      code(0, 5); // distance 1
    }
    code(0, 7); // end of block
    return out;
  }

  it('a gzip bomb is stopped as soon as its output passes the size the IDX header declares (breaker item 3)', async () => {
    // a valid header for one 1×1 image, then 256 MiB of zeros from 1.7 MB of gzip
    const header = encodeIdx([1, 1, 1], Uint8Array.of(0));
    const bomb = gzipBomb(header, 2 ** 28 / 258);
    const rss = process.memoryUsage().rss;
    await expectFfit(() => parseIdx(bomb, 'bomb.gz'), 'E_IDX_SIZE',
      'bomb.gz is longer than its header says: header declares 1×1×1 = 1 bytes of data, it inflates to more', 'inflating stopped there');
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    // zeros from the first byte (the report's 4.5 GB bomb): not an IDX type, known after 4 bytes
    await expectFfit(() => parseIdx(gzipBomb(Uint8Array.of(0), 2 ** 28 / 258), 'zeros.gz'), 'E_IDX_TYPE', 'zeros.gz holds elements of type 0x00');
    // a header declaring more than its gzip can inflate to: refused before allocating it
    const big = encodeIdx([1, 1, 1], Uint8Array.of(0));
    new DataView(big.buffer).setUint32(4, 60000);
    new DataView(big.buffer).setUint32(8, 28 * 28);
    await expectFfit(() => parseIdx(gzipSync(big), 'big.gz'), 'E_IDX_SIZE',
      'big.gz is truncated: header declares 60000×784×1 = 47040000 bytes of data, more than its', 'bytes of gzip can inflate to');
  });

  it('multi-member gzip (cat a.gz b.gz) reads like zcat, each member against its own trailer (breaker item 12)', async () => {
    const file = encodeIdx([3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256));
    for (const cuts of [[30], [3], [16, 16, 40], [0, 50]]) {
      const parts = [0, ...cuts, file.length].slice(1).map((end, k, ends) => file.subarray(k === 0 ? 0 : ends[k - 1], end));
      const members = parts.map((p) => gzipSync(p));
      const joined = new Uint8Array(members.reduce((n, m) => n + m.length, 0));
      members.reduce((at, m) => (joined.set(m, at), at + m.length), 0);
      expect(parseIdx(joined).dims).toEqual([3, 4, 5]);
      expect(Array.from(parseImages(joined).pixels)).toEqual(Array.from(file.subarray(16)));
      // a damaged second member is named
      const bad = joined.slice();
      bad[members[0]!.length + members[1]!.length - 8] ^= 1; // its stored CRC-32
      await expectFfit(() => parseIdx(bad, 'cat.gz'), 'E_IDX_GZIP', 'of the data of member 2 differs from', 'in its trailer');
    }
  });

  it('dimension counts: huge declared sizes, zero-sized images, images and labels swapped', async () => {
    const huge = encodeIdx([1, 1, 1], Uint8Array.of(1));
    new DataView(huge.buffer).setUint32(4, 0xffffffff);
    await expectFfit(() => parseImages(huge, 'h'), 'E_IDX_SIZE', 'h is truncated: header declares 4294967295×1×1 = 4294967295 bytes of data, file has 1');
    await expectFfit(() => parseImages(encodeIdx([3, 0, 28], new Uint8Array(0)), 'z'), 'E_IDX_SIZE', 'declares images of 0×28 pixels');
    await expectFfit(() => parseImages(encodeIdx([3], Uint8Array.of(1, 2, 3)), 'labels'), 'E_IDX_SIZE', 'an image file has 3 (count×rows×cols); did you swap');
    await expectFfit(() => parseLabels(images, 'imgs'), 'E_IDX_SIZE', 'a label file has 1 (count)', 'did you swap');
  });

  it('image and label counts that differ, an empty set, an unreadable file', async () => {
    await expectFfit(() => fromIdx(parseImages(images), parseLabels(encodeIdx([3], Uint8Array.of(0, 1, 0)))), 'E_DATA',
      'the image file has 2 images but the label file has 3 labels', 'use the label file that belongs to these images');
    await expectFfit(() => fromIdx(parseImages(encodeIdx([0, 2, 2], new Uint8Array(0))), parseLabels(encodeIdx([0], new Uint8Array(0)))), 'E_DATA', 'has no examples (0 images)');
    const dir = mkdtempSync(join(tmpdir(), 'ffit-unreadable-'));
    mkdirSync(join(dir, 'train-images-idx3-ubyte'));
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(dir, f), encodeIdx([1], Uint8Array.of(0)));
    await expectFfit(() => loadIdxDir(dir), 'E_DATA', `IDX file ${join(dir, 'train-images-idx3-ubyte')} is a directory, not a regular file; it must be a readable IDX file on disk (plain or .gz).`);
  });

  it('a data file that is a device (a link to /dev/zero) is refused instead of read forever (breaker item 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-device-'));
    symlinkSync('/dev/zero', join(dir, 'train-images-idx3-ubyte'));
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(dir, f), encodeIdx([1], Uint8Array.of(0)));
    await expectFfit(() => loadIdxDir(dir), 'E_DATA', `IDX file ${join(dir, 'train-images-idx3-ubyte')} is a character device, not a regular file (it could be read forever or block)`);
  });
});

describe('IDX files are checked from their stat and header before their data is read (breaker 2, item 8)', () => {
  /** A directory with valid small label and test files and `train-images-idx3-ubyte` made by `make`. */
  function dirWith(make: (path: string) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-idxstat-'));
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(dir, f), encodeIdx(f.includes('images') ? [1, 1, 1] : [1], Uint8Array.of(1)));
    make(join(dir, 'train-images-idx3-ubyte'));
    return dir;
  }

  it('a FIFO is refused at once instead of blocking', async () => {
    const dir = dirWith((p) => execFileSync('mkfifo', [p]));
    try {
      await expectFfit(() => loadIdxDir(dir), 'E_DATA', `IDX file ${join(dir, 'train-images-idx3-ubyte')} is a FIFO (named pipe), not a regular file`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a valid header padded to 3 GiB (a sparse file) is E_IDX_SIZE from its size, not a read error', async () => {
    const dir = dirWith((p) => {
      writeFileSync(p, encodeIdx([2, 2, 2], new Uint8Array(8).fill(7)));
      truncateSync(p, 3 * 2 ** 30);
    });
    try {
      await expectFfit(() => loadIdxDir(dir), 'E_IDX_SIZE', 'is longer than its header says: header declares 2×2×2 = 8 bytes of data, file has 3221225456 (3221225448 extra)');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('images larger than any lattice are refused from the header, plain (sparse 900 MB) or gzipped', async () => {
    const header = encodeIdx([1, 1, 1], Uint8Array.of(0)).subarray(0, 16);
    new DataView(header.buffer).setUint32(8, 30000);
    new DataView(header.buffer).setUint32(12, 30000);
    const dir = dirWith((p) => {
      writeFileSync(p, header);
      truncateSync(p, 16 + 30000 * 30000);
    });
    const msg = 'declares images of 30000×30000 = 900000000 pixels, more than the 16777216 sites (2^24) a lattice layer can hold';
    try {
      await expectFfit(() => loadIdxDir(dir), 'E_SHAPE', `${join(dir, 'train-images-idx3-ubyte')} ${msg}`, 'downsample');
    } finally {
      rmSync(dir, { recursive: true });
    }
    // gzip: refused once the header is inflated, before the 900 MB output buffer exists; a gzip too
    // small to inflate to that (900 MB needs ≥ 872 KB of deflate) is a truncated file instead
    const noise = new Uint8Array(1 << 20); // SHA-256 in counter mode: incompressible, and the same every run
    for (let i = 0; i < noise.length; i += 32) noise.set(createHash('sha256').update(String(i)).digest(), i);
    noise.set(header);
    const gz = gzipSync(noise, { level: 1 });
    expect(gz.length * 1032).toBeGreaterThan(16 + 30000 * 30000);
    await expectFfit(() => parseImages(gz, 'big.gz'), 'E_SHAPE', `big.gz ${msg}`);
    await expectFfit(() => parseImages(gzipSync(header), 'small.gz'), 'E_IDX_SIZE', 'small.gz is truncated: header declares 1×30000×30000');
    // in memory, a header that disagrees with the length is E_IDX_SIZE, one that agrees E_SHAPE
    await expectFfit(() => parseImages(header, 'h'), 'E_IDX_SIZE', 'h is truncated');
  });

  it('a file whose header matches its size but is above 2 GiB is E_DATA with the size (sparse label file)', async () => {
    const dir = dirWith(() => undefined);
    const p = join(dir, 'train-labels-idx1-ubyte');
    const labels = encodeIdx([1], Uint8Array.of(0)).subarray(0, 8);
    new DataView(labels.buffer).setUint32(4, 2 ** 31);
    writeFileSync(p, labels);
    truncateSync(p, 8 + 2 ** 31);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx([1, 1, 1], Uint8Array.of(1)));
    try {
      await expectFfit(() => loadIdxDir(dir), 'E_DATA', `IDX file ${p} is 2.00 GiB (2147483656 bytes), more than the 2.00 GiB ffit reads (2147483647 bytes)`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('zero bytes after the last gzip member are padding (as GNU gzip), other trailing bytes are not', async () => {
    const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);
    const idx = encodeIdx([3, 4, 5], pixels);
    const gz = gzipSync(idx);
    // the trailer's length field (76 bytes) ends in zero bytes itself, so the padding starts inside it
    expect(Array.from(gz.subarray(gz.length - 3))).toEqual([0, 0, 0]);
    for (const pad of [1, 3, 512]) {
      const padded = new Uint8Array(gz.length + pad);
      padded.set(gz);
      expect(Array.from(parseImages(padded, 'p').pixels)).toEqual(Array.from(pixels));
    }
    const two = new Uint8Array(2 * gz.length + 100); // two members split the data, then padding
    const half = gzipSync(idx.subarray(0, 30)), rest = gzipSync(idx.subarray(30));
    two.set(half);
    two.set(rest, half.length);
    expect(Array.from(parseImages(two.subarray(0, half.length + rest.length + 100), 'p2').pixels)).toEqual(Array.from(pixels));
    const garbage = new Uint8Array(gz.length + 4);
    garbage.set(gz);
    garbage.set([0, 0, 7, 0], gz.length);
    await expectFfit(() => parseImages(garbage, 'g'), 'E_IDX_GZIP', 'g is not valid gzip data');
  });
});

describe('images that do not fit the lattice', () => {
  it('wrong image size, wrong array type, labels of another length', async () => {
    const net = await InterferenceNetwork.create({ layers: [16, 4, 3] });
    const ds = fromIdx(parseImages(encodeIdx([2, 3, 3], new Uint8Array(18).fill(5))), parseLabels(encodeIdx([2], Uint8Array.of(0, 1))));
    await expectFfit(() => net.fit(ds), 'E_SHAPE', 'The training set has images of 9 values (3×3), but this lattice has 16 source sites', 'layers[0] = 9');
    await expectFfit(() => net.fit({ images: new Float32Array(32), labels: [0, 1] }, { test: ds }), 'E_SHAPE', 'The test set has images of 9 values');
    await expectFfit(() => net.predict(new Float32Array(17)), 'E_SHAPE', 'images holds 17 values, not a multiple of the 16 source sites');
    await expectFfit(() => net.trainBatch(new Float32Array(32).fill(1), [0, 1, 2, 0]), 'E_SHAPE',
      'the images are 2 × 16 values (2 images), but there are 4 labels', 'If your images have 8 values each', 'layers[0] = 8');
    await expectFfit(() => net.predict('abc' as never), 'E_SHAPE', 'images must be a flat typed array', 'got "abc"');
    await expectFfit(() => net.predict({ length: 16 } as never), 'E_SHAPE', 'got an Object');
    await expectFfit(() => net.predict(new BigInt64Array(16) as never), 'E_SHAPE', 'got a BigInt64Array');
    await expectFfit(() => net.fit(null as never), 'E_SHAPE', 'training set must be an object { images, labels }');
    await expectFfit(() => net.fit({ images: [], labels: [] }), 'E_DATA', 'The training set is empty');
    net.dispose();
  });

  it.each([
    [-1, 'E_LABEL', 'Label 1 is -1; labels must be integers from 0 to 2'],
    [3, 'E_LABEL', 'Label 1 is 3'],
    [1.5, 'E_LABEL', 'Label 1 is 1.5'],
    [Number.NaN, 'E_LABEL', 'Label 1 is NaN'],
    ['1', 'E_LABEL', 'Label 1 is "1"'],
  ])('label %s', async (y, code, message) => {
    const net = await InterferenceNetwork.create({ layers: [4, 3] });
    await expectFfit(() => net.trainBatch(new Float32Array(8).fill(1), [0, y as number]), code, message, 'Remap your classes');
    net.dispose();
  });
});

describe('pixels that cannot be sources (DESIGN.md §3: a⁰ = x / Σx)', () => {
  const row = (patch: Record<number, number>) => {
    const x = new Float64Array(8).fill(0.5);
    for (const [i, v] of Object.entries(patch)) x[Number(i)] = v;
    return x;
  };
  const cases: [string, Float64Array | number[], string][] = [
    ['NaN', row({ 3: NaN }), 'value 3 is NaN; replace missing values'],
    ['+∞', row({ 5: Infinity }), 'value 5 is Infinity, beyond the Float32 range'],
    ['−∞', row({ 5: -Infinity }), 'value 5 is -Infinity, negative'],
    ['negative', row({ 0: -0.25 }), 'value 0 is -0.25, negative; intensities must be ≥ 0'],
    ['beyond Float32', row({ 2: 1e39 }), 'value 2 is 1e+39, beyond the Float32 range (3.4e38); scale the image down'],
    ['all zero', new Float64Array(8), 'it is blank (every value is 0)', ],
    ['subnormal total', Float64Array.from(new Float32Array(8).fill(1e-40)), 'its total intensity 7.999956880891808e-40 is below the smallest normal Float32 (1.2e-38); scale the image up'],
    ['total beyond Float32', new Float64Array(8).fill(1e38), 'its total intensity 8e+38 overflows Float32 (3.4e38); scale the image down'],
    ['a string', [0.5, 0.5, 'x' as never, 0.5, 0.5, 0.5, 0.5, 0.5], 'value 2 is "x", not a number'],
    ['a BigInt', [0.5, 1n as never, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 'value 1 is 1n (a BigInt), not a number'],
  ];
  describe.each(BACKENDS)('%s backend', (backend) => {
    it.each(cases)('%s', async (_name, bad, message) => {
      const net = await InterferenceNetwork.create({ layers: [8, 3], backend });
      const good = new Float64Array(8).fill(1);
      const images = Array.isArray(bad) ? [...Array.from(good), ...Array.from(good), ...bad] : Float64Array.of(...good, ...good, ...bad);
      await expectFfit(() => net.predict(images), 'E_INPUT', `Image 2 cannot be a source: ${message}`, 'DESIGN.md §3');
      await expectFfit(() => net.trainBatch(images, [0, 1, 2]), 'E_INPUT', 'Image 2 cannot be a source');
      await expectFfit(() => net.trainBatch(images, [0, 1, 2], [1, 2]), 'E_INPUT', 'Image 2 cannot be a source');
      await expectFfit(() => net.gains(images, [0, 1, 2]), 'E_INPUT', 'Image 2 cannot be a source');
      // the refused batch changed nothing: the network still answers finite probabilities
      expect(net.predictProba(good).every(Number.isFinite)).toBe(true);
      net.dispose();
    });
  });

  it('checkSources reports a blank image of a data set by its index in the file', async () => {
    const pixels = new Uint8Array(5 * 4).fill(9);
    pixels.fill(0, 12, 16);
    await expectFfit(() => checkSources(pixels, 4, 'the training images in /data'), 'E_INPUT', 'Image 3 of the training images in /data cannot be a source: it is blank');
    expect(() => checkSources(pixels.subarray(0, 12), 4, 'x')).not.toThrow();
    await expectFfit(() => checkSources(Float32Array.of(1, 1, 1, -1), 2, 'f'), 'E_INPUT', 'Image 1 of f cannot be a source: value 1 is -1');
  });
});

describe('class lists and shots', () => {
  const ds = fromIdx(parseImages(encodeIdx([6, 1, 1], Uint8Array.of(1, 2, 3, 4, 5, 6))), parseLabels(encodeIdx([6], Uint8Array.of(0, 1, 0, 1, 2, 0))));

  it('duplicates, too few, missing in the data, not integers', async () => {
    await expectFfit(() => selectClasses(ds, [0, 2, 0]), 'E_OPTION', 'class 0 is listed twice in [0, 2, 0]; list each class once');
    await expectFfit(() => selectClasses(ds, [1]), 'E_OPTION', 'need at least 2 classes to classify, got 1');
    await expectFfit(() => selectClasses(ds, [0, 5]), 'E_DATA', 'class 5 has no examples in the data, which has classes 0, 1, 2');
    // the caller names which file is at fault
    await expectFfit(() => selectClasses(ds, [0, 5], 'the test data in ./digits'), 'E_DATA', 'class 5 has no examples in the test data in ./digits, which has classes 0, 1, 2');
    await expectFfit(() => selectClasses(ds, [0, 0.5]), 'E_OPTION', 'class 0.5 is not an integer');
  });

  it('more shots than a class has', async () => {
    await expectFfit(() => sampleShots(ds, 2, new Rng(0)), 'E_DATA', 'class 2 has only 1 examples, fewer than the 2 shots asked for; use --shots ≤ 1');
    await expectFfit(() => sampleShots(ds, 0, new Rng(0)), 'E_OPTION', 'shots must be an integer ≥ 1');
  });
});

describe('options out of range', () => {
  const cases: [Partial<FfitOptions> | Record<string, unknown>, string][] = [
    [{ layers: [784] }, 'layers must list at least two layer sizes'],
    [{ layers: 'abc' }, 'layers must list at least two layer sizes (sources … targets), e.g. [784, 64, 4]; got "abc"'],
    [{ layers: [784, 0, 4] }, 'layers[1] must be an integer from 1 to 16777216; got 0'],
    [{ layers: [784, 2.5, 4] }, 'layers[1] must be an integer from 1 to 16777216; got 2.5'],
    [{ layers: [784, 1n, 4] }, 'layers[1] must be an integer from 1 to 16777216; got 1'],
    [{ layers: [784, 1] }, 'The last layer holds one target per class and needs at least 2 sites; got 1'],
    [{ durations: 0 }, 'durations (D) must be an integer from 1 to 1024; got 0'],
    [{ durations: 1.5 }, 'got 1.5'],
    [{ durations: 1025 }, 'got 1025'],
    [{ beta: 0 }, 'beta must be a number from 1e-6 to 1e6 (inverse temperature); got 0'],
    [{ beta: -1 }, 'got -1'],
    [{ beta: Number.NaN }, 'got NaN'],
    [{ beta: Infinity }, 'got Infinity'],
    [{ beta: 2e6 }, 'got 2000000'],
    [{ eta: -1 }, 'eta must be a number from 0 to 1e12 (learning rate); got -1'],
    [{ eta: 1e13 }, 'got 10000000000000'],
    [{ batchSize: 0 }, 'batchSize must be an integer from 1 to 65536; got 0'],
    [{ batchSize: 2.5 }, 'got 2.5'],
    [{ batchSize: 65537 }, 'got 65537'],
    [{ speed: 0 }, 'speed (c) must be a number ≥ 1e-9 (space units per tick) or Infinity (no travel time); got 0'],
    [{ speed: -1 }, 'got -1'],
    [{ omega: Number.NaN }, 'omega must be a number from −1e6 to 1e6 (radians per tick); got NaN'],
    [{ omega: 1e7 }, 'got 10000000'],
    [{ tStar: Infinity }, 'tStar must be a number from −1e9 to 1e9 (ticks); got Infinity'],
    [{ kappa: 0 }, 'kappa must be a number from 1e-6 to 1e6; got 0'],
    // breaker 2 item 11: > 0 in float64 but 0 in Float32
    [{ kappa: 5e-324 }, 'kappa must be a number from 1e-6 to 1e6; got 5e-324'],
    [{ beta: 1e-320 }, 'beta must be a number from 1e-6 to 1e6 (inverse temperature); got 1e-320'],
    [{ coupling: -1 }, 'coupling (J) must be a number from 0 to 1e6; got -1'],
    [{ initScale: 81 }, 'initScale must be a number from 0 to 80; got 81'],
    [{ seed: 1.5 }, 'seed must be an integer in ±(2^31 − 1); got 1.5'],
    [{ seed: 2 ** 31 }, 'got 2147483648'],
    [{ topology: 'ring' }, 'topology must be'],
    [{ objective: 'energy' }, 'objective must be "boltzmann" or "field"; got "energy"'],
    [{ response: 'relu' }, 'response must be "linear" or "ising"; got "relu"'],
    [{ backend: 'gpu' }, 'backend must be one of auto, simd, scalar, js; got "gpu"'],
    [{ positions: [[0, 1], [0]] }, 'positions[0] must hold 3 numbers, one per site'],
    [{ positions: [[0, 1, 2], [0, Number.NaN]] }, 'positions[1][1] must be a number from −1e9 to 1e9 (space units); got NaN'],
    [{ learningRate: 1 }, 'Unknown option "learningRate"; known options are'],
    [{ radius: 1e10 }, 'radius must be a number > 0 and ≤ 1e9 (space units); got 10000000000'],
  ];
  const label = (patch: object) => JSON.stringify(patch, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) ? 'NaN' : v === Infinity ? '∞' : v));
  it.each(cases.map(([patch, message]) => [label(patch), patch, message] as const))('%s', async (_label, patch, message) => {
    const layers = 'layers' in patch ? undefined : [3, 2];
    const options = (layers ? { layers, ...patch } : patch) as FfitOptions;
    if ('positions' in patch) (options as { layers: number[] }).layers = [3, 2];
    await expectFfit(() => InterferenceNetwork.create(options), 'E_OPTION', message);
  });

  it('not an object', async () => {
    await expectFfit(() => InterferenceNetwork.create(undefined as never), 'E_OPTION', 'Options must be an object with at least `layers`');
    await expectFfit(() => InterferenceNetwork.create(null as never), 'E_OPTION', 'Options must be an object');
  });

  it('fit options', async () => {
    const net = await InterferenceNetwork.create({ layers: [2, 2] });
    const set = { images: [1, 1], labels: [0] };
    await expectFfit(() => net.fit(set, { epochs: 0 }), 'E_OPTION', 'epochs must be an integer from 1 to 1e6; got 0');
    await expectFfit(() => net.fit(set, { schedule: 'step' as never }), 'E_OPTION', 'schedule must be "constant", "linear" or "cosine"; got "step"');
    await expectFfit(() => net.fit(set, null as never), 'E_OPTION', 'fit options must be an object');
    // breaker 2 items 5 and 11: an epoch bound, unknown keys named with where they belong, empty evaluation sets
    await expectFfit(() => net.fit(set, { epochs: 1e308 }), 'E_OPTION', 'epochs must be an integer from 1 to 1e6; got 1e+308.');
    await expectFfit(() => net.fit(set, { epochs: 1e6 + 1 }), 'E_OPTION', 'epochs must be an integer from 1 to 1e6; got 1000001.');
    await expectFfit(() => net.fit(set, { batchSize: 8 } as never), 'E_OPTION',
      '"batchSize" is an option of the network, not of fit(): pass it to InterferenceNetwork.create({ …, batchSize }). fit() takes epochs, shuffle, validation, test, schedule, onBatch, onEpoch.');
    await expectFfit(() => net.fit(set, { eta: 1, epochs: 1 } as never), 'E_OPTION', '"eta" is an option of the network, not of fit()');
    await expectFfit(() => net.fit(set, { epoch: 2 } as never), 'E_OPTION', 'Unknown fit option "epoch"; fit() takes epochs, shuffle');
    await expectFfit(() => net.fit(set, { test: { images: [], labels: [] } }), 'E_DATA',
      'The test set is empty: its accuracy would be meaningless; pass at least one image, or leave test out.');
    await expectFfit(() => net.fit(set, { validation: { images: new Float32Array(0), labels: new Int32Array(0) } }), 'E_DATA', 'The validation set is empty');
    expect(net.examplesSeen).toBe(0); // refused before training
  });

  it('the limits are the documented ones', () => {
    expect(LIMITS).toEqual({ durations: 1024, batchSize: 65536, betaMin: 1e-6, beta: 1e6, eta: 1e12, kappaMin: 1e-6, kappa: 1e6, coupling: 1e6, omega: 1e6, tStar: 1e9, speedMin: 1e-9, position: 1e9, initScale: 80, epochs: 1e6 });
  });
});

describe('lattices too large for WebAssembly memory', () => {
  it.each([
    [[2 ** 24, 2 ** 24], 4],
    [[784, 2 ** 20, 10], 4],
    [[20000, 20000, 4], 1],
    [[784, 4096, 4], 1024],
  ])('%j with D = %i: E_MEMORY before allocating, with the size needed', async (layers, durations) => {
    const rss = process.memoryUsage().rss;
    const e = await expectFfit(() => InterferenceNetwork.create({ layers, durations }), 'E_MEMORY',
      `The lattice ${layers.join('→')} with D = ${durations}`, 'more than the 4 GiB a WebAssembly instance can address', 'Nothing was allocated');
    const gib = Number(/needs about ([\d.]+) GiB/.exec(e.message)![1]);
    const logitBytes = layers.slice(1).reduce((t, n, l) => t + layers[l]! * n * durations * 4, 0);
    expect(gib).toBeGreaterThanOrEqual(logitBytes / 2 ** 30 - 0.01); // at least the logits
    expect(gib).toBeGreaterThan(4);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 2 ** 20);
  });

  it.each([
    // breaker item 2: these built their whole route table in JavaScript first (120 s, 13.9 s and 2.45 GB)
    [{ layers: [784, 16777180, 4], topology: 'causal', sequence: 28 }, 28 * 599185 * (28 * 29) / 2 + 16777180 * 4],
    [{ layers: [784, 560000, 4], topology: 'causal', sequence: 28 }, 28 * 20000 * (28 * 29) / 2 + 560000 * 4],
    [{ layers: [784, 2000000, 4], topology: 'local', radius: 2 }, 784 * 2000000 + 2000000 * 4], // positions in [0, 1]: every pair
  ] as [FfitOptions, number][])('%j: sized from its route count before any route table is built', async (options, routes) => {
    const rss = process.memoryUsage().rss;
    const logits = ((routes * 4 * 4) / 2 ** 30).toFixed(2);
    await expectFfit(() => InterferenceNetwork.create(options), 'E_MEMORY',
      `The lattice ${options.layers.join('→')} (${options.topology}, ${routes} routes) with D = 4`, `its route logits alone ${logits} GiB`,
      'more than the 4 GiB a WebAssembly instance can address', 'Nothing was allocated.');
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
  });

  it.each([
    // breaker item 10: ≈ 3 GiB in all, but one buffer beyond the allocator's 1 GiB block (it failed mid-allocation)
    [{ layers: [784, 45000, 4], durations: 8 }, 784 * 45000 * 8, 'the route logits of layer 0 (35280000 routes × 8 durations)'],
    [{ layers: [784, 100016, 4], topology: 'causal', sequence: 28, durations: 8 }, 28 * 3572 * 406 * 8, 'the route logits of layer 0 (40606496 routes × 8 durations)'],
  ] as [FfitOptions, number, string][])('%j: one buffer beyond the 1 GiB block of the WebAssembly allocator is refused up front', async (options, floats, what) => {
    for (const backend of ['simd', 'scalar'] as const) {
      await expectFfit(() => InterferenceNetwork.create({ ...options, backend }), 'E_MEMORY',
        `needs a single buffer of ${floats * 4} bytes (${((floats * 4) / 2 ** 30).toFixed(2)} GiB, ${floats} Float32 values) for ${what}`,
        'more than the 1073741820 bytes (2^30 − 4) that the WebAssembly allocator hands out in one block', 'Nothing was allocated.');
    }
  });

  it('memory above 2 GiB is read as unsigned; a block beyond 1 GiB is refused before alloc, a failed grow is E_MEMORY (breaker items 9, 10)', async () => {
    // a stand-in for the instance's exports: its memory is never allocated
    const held = 3.5 * 2 ** 30, allocated: number[] = [];
    const kernels = {
      memory: { buffer: { byteLength: held } },
      memoryBytes: () => held | 0, // what the u32 export reads as in JavaScript: −536870912
      alloc: (bytes: number) => {
        // the allocator reuses freed blocks of memory already grown; beyond them, growing past 4 GiB traps
        if (bytes > 2 ** 28) throw new WebAssembly.RuntimeError('unreachable');
        return allocated.push(bytes), 1 << 20;
      },
      free: () => undefined,
    };
    const be = new WasmBackend('simd', kernels as never);
    expect(be.memoryBytes()).toBe(held);
    await expectFfit(() => be.f32(2 ** 28), 'E_MEMORY', 'A buffer of 1073741824 bytes (1024.0 MiB) is more than the 1073741820 bytes (2^30 − 4) that the WebAssembly allocator hands out in one block');
    expect(allocated).toEqual([]);
    await expectFfit(() => be.f32(200 * 2 ** 20), 'E_MEMORY', 'A buffer of 800.0 MiB does not fit: this instance holds 3584.0 MiB of the 4 GiB', 'has no free block that large');
    be.f32(50 * 2 ** 20); // memory already grown is not counted as taken
    expect(allocated).toEqual([200 * 2 ** 20]);
  });

  it('the estimate covers what a network really allocates', async () => {
    for (const backend of ['simd', 'js'] as const) {
      const net = await InterferenceNetwork.create({ layers: [300, 200, 10], durations: 8, batchSize: 64, backend });
      const { images, labels } = randomData(1, 64, 300, 10);
      net.trainBatch(images, labels);
      net.predict(randomData(2, 600, 300, 10).images);
      // logits, probabilities, S, W: (2D + 6) floats per route pair, plus batch buffers
      const routes = 300 * 200 + 200 * 10;
      expect(net.memoryBytes).toBeGreaterThanOrEqual(routes * (2 * 8 + 4) * 4);
      expect(net.memoryBytes).toBeLessThan(routes * (2 * 8 + 6) * 4 + 16 * 2 ** 20);
      net.dispose();
    }
  });
});

describe('batches too large for WebAssembly memory (breaker 2 item 2)', () => {
  // 1 → 65536 → 2: a small lattice (11 MB) whose per-call buffers cost 1 MiB per example
  const lattice = { layers: [1, 65536, 2], seed: 3 };
  const ones = (n: number) => ({ images: new Float32Array(n).fill(1), labels: Int32Array.from({ length: n }, (_, i) => i % 2) });

  it.each(['simd', 'scalar'] as const)('%s: refused before anything is allocated, with the size needed and the largest batch that fits', async (backend) => {
    const net = await InterferenceNetwork.create({ ...lattice, backend });
    const held = net.memoryBytes;
    const big = ones(5000);
    await expectFfit(() => net.trainBatch(big.images, big.labels), 'E_MEMORY',
      `A batch of 5000 examples needs a single buffer of ${65536 * 5000 * 4} bytes (${((65536 * 5000 * 4) / 2 ** 30).toFixed(2)} GiB, ${65536 * 5000} Float32 values) for the amplitudes of layer 1 for 5000 examples`,
      'more than the 1073741820 bytes (2^30 − 4) that the WebAssembly allocator hands out in one block', 'Nothing was allocated.');
    const e = await expectFfit(() => net.gains(ones(3500).images, ones(3500).labels), 'E_MEMORY', 'A batch of 3500 examples needs about',
      'more than the 4 GiB a WebAssembly instance can address; use batches of at most', 'Nothing was allocated.');
    const gib = Number(/needs about ([\d.]+) GiB/.exec(e.message)![1]);
    expect(gib).toBeGreaterThan(3500 * 4 * 65536 * 4 / 2 ** 30); // at least the amplitudes and induced fields
    const most = Number(/at most (\d+) examples/.exec(e.message)![1]);
    expect(most).toBeGreaterThan(256);
    expect(most).toBeLessThan(3500);
    // the largest batch is the same whatever was asked: one more than it is refused naming it
    await expectFfit(() => net.trainBatch(ones(most + 1).images, ones(most + 1).labels), 'E_MEMORY', `use batches of at most ${most} examples`);
    expect(net.memoryBytes).toBe(held);
    // predict runs in chunks of the buffers it has; the network works as before
    expect(net.predict(ones(300).images)).toHaveLength(300);
    expect(net.trainBatch(ones(64).images, ones(64).labels).count).toBe(64);
    net.dispose();
  });

  it.each(['simd', 'js'] as const)('%s: an allocation that fails half-way leaves the network as it was (bit for bit as a fresh one afterwards)', async (backend) => {
    const options = { layers: [16, 8, 3], seed: 5, batchSize: 8, backend };
    const net = await InterferenceNetwork.create(options), fresh = await InterferenceNetwork.create(options);
    const be = (net as unknown as { backend: { f32(n: number): unknown } }).backend;
    const f32 = be.f32.bind(be);
    let calls = 0;
    be.f32 = (n: number) => {
      if (++calls > 5) throw new FfitError('E_MEMORY', 'test: out of memory');
      return f32(n);
    };
    const over = randomData(1, 300, 16, 3); // more than the 256 examples the buffers hold
    await expectFfit(() => net.trainBatch(over.images, over.labels), 'E_MEMORY', 'test: out of memory');
    expect(calls).toBeGreaterThan(5);
    be.f32 = f32;
    const small = randomData(2, 40, 16, 3), test = randomData(3, 50, 16, 3);
    for (const n of [net, fresh]) {
      n.trainBatch(small.images, small.labels);
      n.fit(small, { epochs: 2 });
      n.trainBatch(over.images, over.labels); // the grown buffers work too
    }
    for (let l = 0; l < 2; l++) expect(net.logits(l)).toEqual(fresh.logits(l));
    expect(net.predictProba(test.images)).toEqual(fresh.predictProba(test.images));
    expect(net.evaluate(test.images, test.labels)).toEqual(fresh.evaluate(test.images, test.labels));
    net.dispose();
    fresh.dispose();
  });
});

describe('disposed networks', () => {
  it('every method answers E_DISPOSED', async () => {
    const net = await InterferenceNetwork.create({ layers: [2, 2] });
    net.dispose();
    net.dispose(); // twice is harmless
    for (const call of [() => net.predict([1, 1]), () => net.toJSON(), () => net.logits(0), () => net.probabilities(0), () => net.trainBatch([1, 1], [0]), () => net.routeEntropy(), () => net.routes(0)]) {
      await expectFfit(call, 'E_DISPOSED', 'This network was disposed; create a new one');
    }
    expect(net.memoryBytes).toBe(0);
  });
});

describe('library misuse is an FfitError, never a TypeError or RangeError', () => {
  const ds = fromIdx(parseImages(encodeIdx([6, 1, 1], Uint8Array.of(1, 2, 3, 4, 5, 6))), parseLabels(encodeIdx([6], Uint8Array.of(0, 1, 0, 1, 2, 0))));

  it('data sets, class lists and seeded randomness', async () => {
    await expectFfit(() => selectClasses(ds, null as never), 'E_OPTION', 'classes must be an array of class numbers', 'got null');
    await expectFfit(() => selectClasses(null as never, [0, 1]), 'E_SHAPE', 'selectClasses: the data set must be a Dataset', 'got null');
    await expectFfit(() => sampleShots(ds, 1, undefined as never), 'E_OPTION', 'sampleShots: pass a seeded Rng as the last argument (new Rng(seed)); got undefined');
    await expectFfit(() => splitValidation(ds, 0.1, {} as never), 'E_OPTION', 'splitValidation: pass a seeded Rng');
    await expectFfit(() => fromIdx(null as never, null as never), 'E_SHAPE', 'images must be what parseImages returns', 'got null');
    await expectFfit(() => new Rng(1).permutation(-1), 'E_OPTION', 'Rng.permutation(n) needs an integer n from 0 to 1073741824; got -1');
    await expectFfit(() => new Rng(1).int(0), 'E_OPTION', 'Rng.int(n) needs an integer n ≥ 1');
    await expectFfit(() => new Rng(0.5), 'E_OPTION', 'Rng seed must be an integer');
    await expectFfit(() => new Rng(1).shuffle(null as never), 'E_OPTION', 'Rng.shuffle needs an array');
    expect(Array.from(new Rng(7).permutation(0))).toEqual([]);
  });

  it('parseIdx names what it was given instead of reading it as bytes', async () => {
    const file = encodeIdx([2], Uint8Array.of(3, 4));
    await expectFfit(() => parseIdx(null as never, 'labels.idx'), 'E_SHAPE', "labels.idx must be the file's bytes as a Uint8Array", 'got null');
    await expectFfit(() => parseIdx('abcd' as never), 'E_SHAPE', 'got a string');
    await expectFfit(() => parseIdx(new DataView(file.buffer) as never), 'E_SHAPE', 'got a DataView');
    expect(Array.from(parseIdx(file.buffer as ArrayBuffer).data)).toEqual([3, 4]); // an ArrayBuffer is bytes
  });

  it('tokens, routes, positions, backends, colours and model encoding (breaker 2 item 7)', async () => {
    const R = resolveOptions({ layers: [16, 5, 3] });
    await expectFfit(() => toTokens(null as never, tokenizer('rows', 2, 2)), 'E_SHAPE', 'toTokens: the data set must be a Dataset', 'got null');
    await expectFfit(() => toTokens(ds, null as never), 'E_OPTION', 'toTokens: pass a tokenizer from tokenizer(mode, rows, cols) whose order lists pixel indices 0 … 0; got null.');
    for (const [rows, cols, shown] of [[0, 0, '0 × 0'], [-1, 5, '-1 × 5'], [NaN, NaN, 'NaN × NaN'], [1e9, 1e9, '1000000000 × 1000000000'], [-1, -4, '-1 × -4']] as const) {
      await expectFfit(() => tokenizer('rows', rows, cols), 'E_OPTION',
        `tokenizer: rows and cols must be whole numbers ≥ 1 with rows × cols ≤ 67108864 pixels (the image size, e.g. 28 and 28); got ${shown}.`);
    }
    await expectFfit(() => encodeModel(null as never), 'E_MODEL', 'A model to encode must be { options, logits', 'got null.');
    await expectFfit(() => encodeModel({} as never), 'E_MODEL', 'A model to encode must be { options, logits', 'got another object.');
    await expectFfit(() => sitePositions(null as never, 0), 'E_OPTION', 'sitePositions: pass the options that resolveOptions returns (or network.options); got null.');
    await expectFfit(() => sitePositions(R, 7), 'E_OPTION', 'sitePositions: the layer index must be an integer from 0 to 2 (the lattice 16→5→3); got 7.');
    await expectFfit(() => buildRoutes(null as never, 0), 'E_OPTION', 'buildRoutes: pass the options that resolveOptions returns');
    await expectFfit(() => buildRoutes(R, 9), 'E_OPTION', 'buildRoutes: the layer index must be an integer from 0 to 1 (the lattice 16→5→3); got 9.');
    await expectFfit(() => connected(null as never, 0, 1), 'E_OPTION', 'connected: pass the options that resolveOptions returns');
    await expectFfit(() => resolveBackend(null as never), 'E_OPTION', 'backend must be one of "auto", "simd", "scalar", "js"; got null.');
    await expectFfit(() => phaseColour('x' as never), 'E_INPUT', 'phaseColour: the phase must be a finite number (radians); got "x".');
    // what they still accept
    expect(sitePositions(R, 2)).toHaveLength(3);
    expect(buildRoutes(R, 1).count).toBe(15);
    expect(connected(R, 0, 1)).toBe(true);
    expect(tokenizer('rows', 2, 3).sequence).toBe(2);
  });

  it('an option getter that throws, and fit({ epochs: Infinity })', async () => {
    const options = { layers: [4, 2], get beta(): number { throw new Error('boom'); } };
    await expectFfit(() => resolveOptions(options), 'E_OPTION', 'Option "beta" cannot be read (boom); pass plain values.');
    await expectFfit(() => InterferenceNetwork.create(options), 'E_OPTION', 'Option "beta" cannot be read (boom)');
    await expectFfit(() => InterferenceNetwork.create(JSON.parse('{"layers":[4,2],"__proto__":{"beta":5}}')), 'E_OPTION', 'Unknown option "__proto__"');
    const net = await InterferenceNetwork.create({ layers: [2, 2] });
    await expectFfit(() => net.fit({ images: [1, 1], labels: [0] }, { epochs: Infinity }), 'E_OPTION', 'epochs must be an integer from 1 to 1e6; got Infinity.');
    net.dispose();
  });
});

describe('library misuse found by the seventh hostile round', () => {
  it('a hole in layers, a BigInt, a string layer index and a patch that does not divide say what they are', async () => {
    // eslint-disable-next-line no-sparse-arrays
    await expectFfit(() => InterferenceNetwork.create({ layers: [4, , 2] as number[] }), 'E_OPTION', 'layers[1] must be an integer from 1 to 16777216; got nothing (a hole in the array).');
    await expectFfit(() => InterferenceNetwork.create({ layers: [4, 2], durations: 4n as never }), 'E_OPTION', 'durations (D) must be an integer from 1 to 1024; got 4n (a BigInt; pass a number).');
    await expectFfit(() => InterferenceNetwork.create({ layers: [4, 2], sequence: 1e9 }), 'E_OPTION', 'sequence must be an integer from 0 to 16777216 (0 = no sequence); got 1000000000.');
    await expectFfit(() => tokenizer('patches', 14, 14, 5), 'E_OPTION', 'patch must be a whole number dividing the 14×14 image (here: 1, 2, 7, 14); got 5.');
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], seed: 1 });
    await expectFfit(() => net.propagators('1' as never), 'E_OPTION', 'Propagators exist for layers 1 … 2; got "1".');
    net.dispose();
  });

  it('evaluate refuses an empty set, as fit does, instead of an accuracy of 0', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 2] });
    await expectFfit(() => net.evaluate(new Uint8Array(0), new Int32Array(0)), 'E_DATA', 'evaluate: the set is empty, so its accuracy and means would be meaningless');
    expect(net.evaluate(Uint8Array.of(1, 2, 3, 4), Int32Array.of(1)).count).toBe(1);
    net.dispose();
  });

  it('toJSON refuses metadata that JSON would change (NaN, Infinity, a Map, a cycle) and keeps what it can hold', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 2] });
    await expectFfit(() => net.toJSON({ a: NaN }), 'E_OPTION', 'meta.a is NaN, which JSON cannot hold (it would be saved as null)');
    await expectFfit(() => net.toJSON({ m: new Map([[1, 2]]) }), 'E_OPTION', 'meta.m is a Map, which JSON would not save as it is');
    await expectFfit(() => net.toJSON({}, { runs: [1, -Infinity] }), 'E_OPTION', 'metrics.runs[1] is -Infinity');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectFfit(() => net.toJSON(cyclic), 'E_OPTION', 'meta.self refers back to itself');
    expect(net.toJSON({ a: undefined, b: [1, 'x', null, { c: true }] }).meta).toEqual({ b: [1, 'x', null, { c: true }] });
    net.dispose();
  });

  it('unknown members and throwing getters in runtime choices, fit options, data sets and worldline queries', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], seed: 1 });
    const boom = (key: string, rest: object = {}) => Object.defineProperty({ ...rest }, key, { enumerable: true, get: () => { throw new Error('boom'); } });
    await expectFfit(() => InterferenceNetwork.fromJSON(net.toJSON(), { backend: 'js', foo: 1 } as never), 'E_OPTION', 'Unknown member "foo" in the runtime choice; known: backend, threads.');
    await expectFfit(() => net.fit({ images: [1, 1, 1, 1], labels: [0] }, boom('epochs')), 'E_OPTION', 'fit options: "epochs" cannot be read (boom); pass plain values.');
    await expectFfit(() => net.fit(boom('images', { labels: [0] }) as never), 'E_OPTION', 'The training set\'s "images" cannot be read (boom); pass plain arrays.');
    await expectFfit(() => net.fit({ images: [1, 1, 1, 1], labels: [0] }, { test: boom('labels', { images: [1, 1, 1, 1] }) as never }), 'E_OPTION', 'The test set\'s "labels" cannot be read (boom)');
    await expectFfit(() => topWorldlines(net, { target: 0, foo: 1 } as never), 'E_OPTION', 'Unknown member "foo" in topWorldlines options; known: target, k, source, image, maxBytes.');
    await expectFfit(() => topWorldlines(net, boom('target') as never), 'E_OPTION', 'topWorldlines options: "target" cannot be read (boom)');
    await expectFfit(() => countWorldlines(net, { layer: 0, site: 0, foo: 1 } as never, { layer: 2, site: 0 }), 'E_OPTION', 'Unknown member "foo" in from; known: layer, site.');
    await expectFfit(() => countWorldlines({} as never, { layer: 0, site: 0 }, { layer: 2, site: 0 }), 'E_OPTION', 'countWorldlines: the first argument must be an InterferenceNetwork; got an Object.');
    await expectFfit(() => energyOverPeriod(null as never, [1, 1, 1, 1]), 'E_OPTION', 'energyOverPeriod: the first argument must be an InterferenceNetwork; got null.');
    expect(countWorldlines(net, { layer: 0, site: 0 }, { layer: 2, site: 0 })).toBe(3n * 4n * 4n);
    // second round: a getter in toJSON's metadata or on a layer size, a Proxy that cannot list its keys
    await expectFfit(() => net.toJSON(boom('note')), 'E_OPTION', 'meta.note cannot be read (boom); store plain values.');
    const layers = [4, 2];
    Object.defineProperty(layers, 1, { get: () => { throw new Error('boom'); } });
    await expectFfit(() => InterferenceNetwork.create({ layers }), 'E_OPTION', 'layers[1] cannot be read (boom); pass plain numbers.');
    const unlistable = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
    await expectFfit(() => InterferenceNetwork.create(unlistable as never), 'E_OPTION', 'The options cannot be listed (no keys); pass a plain object.');
    await expectFfit(() => InterferenceNetwork.fromJSON(net.toJSON(), unlistable as never), 'E_OPTION', 'the runtime choice cannot be listed (no keys); pass a plain object.');
    // fourth round: a huge sparse layers array is refused at once, a throwing length too; toJSON(42) is not metadata
    const huge = [16, 4, 2];
    huge.length = 1e8;
    await expectFfit(() => InterferenceNetwork.create({ layers: huge }), 'E_OPTION', 'layers lists 100000000 layer sizes; a lattice has at most 4096 layers');
    const badLength = new Proxy([4, 2], { get: (t, k) => { if (k === 'length') throw new Error('plen'); return Reflect.get(t, k); } });
    await expectFfit(() => InterferenceNetwork.create({ layers: badLength }), 'E_OPTION', 'layers cannot be read (plen)');
    await expectFfit(() => net.toJSON(42 as never), 'E_OPTION', 'toJSON(meta, metrics): meta must be an object of metadata (or left out); got 42.');
    expect(JSON.parse(JSON.stringify(net)).format).toBe('ffit-model'); // JSON.stringify passes a key string: still the model
    net.dispose();
  });

  it('a version-1 model whose local lattice cannot be built is a model error naming the file', async () => {
    const doc = JSON.parse(readFileSync(new URL('./fixtures/model-v1.json', import.meta.url), 'utf8'));
    doc.options.topology = 'local';
    doc.options.radius = 0.1;
    await expectFfit(() => InterferenceNetwork.fromJSON(doc, 'js', 'model file v1-local.json'), 'E_MODEL',
      'The lattice of model file v1-local.json cannot be built: Site 2 of layer 0', 'The file is damaged.');
  });
});

describe('error codes', () => {
  it('each code is documented', () => {
    expect(Object.keys(FFIT_ERROR_CODES).sort()).toEqual([
      'E_BACKEND', 'E_DATA', 'E_DISPOSED', 'E_IDX_GZIP', 'E_IDX_MAGIC', 'E_IDX_SIZE', 'E_IDX_TYPE', 'E_INPUT', 'E_LABEL',
      'E_MEMORY', 'E_MODEL', 'E_MODEL_CHECKSUM', 'E_MODEL_VERSION', 'E_OPTION', 'E_SHAPE', 'E_USAGE',
    ]);
    for (const text of Object.values(FFIT_ERROR_CODES)) expect(text.length).toBeGreaterThan(10);
  });
});
