// Model files across Node and the browser (docs/MODEL_FORMAT.md): a model that Node trains and
// saves (atomically, ffit/node) loads in headless Chromium with the browser bundle and predicts the
// same bits on the simd and scalar builds; the same file with one changed byte is refused there with
// E_MODEL_CHECKSUM; a version-1 file written by ffit 0.1.0 migrates there too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterferenceNetwork } from '../../dist/index.js';
import { loadModel, saveModel } from '../../dist/node.js';
import { launch } from './chromium.js';

const ROOT = new URL('../../', import.meta.url);
const BUNDLE = readFileSync(new URL('dist/browser/ffit.js', ROOT), 'utf8');
const V1 = readFileSync(new URL('test/fixtures/model-v1.json', ROOT), 'utf8');

/** Runs in the page: load each file, predict, report (or the error code). */
const PAGE = `import { InterferenceNetwork, FfitError } from '/ffit.js';
const text = async (name) => (await fetch('/' + name)).text();
const predict = async (name, backend, images) => {
  try {
    const net = await InterferenceNetwork.fromJSON(await text(name), backend);
    const out = { backend: net.backendName, meta: net.meta, metrics: net.metrics, moments: Array.from(net.moments(images)), predicted: Array.from(net.predict(images)) };
    net.dispose();
    return out;
  } catch (e) {
    return { code: e instanceof FfitError ? e.code : String(e) };
  }
};
window.result = (async () => {
  const images = Float32Array.from(JSON.parse(await text('images.json')));
  const v1Images = Float32Array.from(JSON.parse(await text('v1-images.json')));
  return {
    simd: await predict('model.json', 'simd', images),
    scalar: await predict('model.json', 'scalar', images),
    corrupted: await predict('corrupted.json', 'simd', images),
    v1: await predict('v1.json', 'simd', v1Images),
  };
})().catch((e) => ({ error: String(e && e.stack || e) }));
`;

describe('a model file saved in Node, loaded in the browser', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'ffit-model-e2e-'));
  const files: Record<string, string> = {};
  const node: Record<string, { moments: number[]; predicted: number[] }> = {};
  const images = Float32Array.from({ length: 24 * 64 }, (_, i) => ((i * 2654435761) % 97) / 97);
  const v1Images = Float32Array.from((JSON.parse(readFileSync(new URL('test/fixtures/model-v1.expected.json', ROOT), 'utf8')) as { images: number[] }).images);

  beforeAll(async () => {
    const net = await InterferenceNetwork.create({ layers: [64, 16, 4], durations: 4, seed: 11, batchSize: 8, backend: 'simd' });
    const labels = Int32Array.from({ length: 24 }, (_, i) => i % 4);
    net.fit({ images, labels }, { epochs: 3 });
    const path = join(dir, 'model.json');
    saveModel(path, net.toJSON({ classes: [0, 1, 2, 3] }, { trainAccuracy: net.evaluate(images, labels).accuracy }));
    net.dispose();
    files['model.json'] = readFileSync(path, 'utf8');
    const data = (JSON.parse(files['model.json']) as { logits: { data: string }[] }).logits[1]!.data, at = data.length >> 1;
    files['corrupted.json'] = files['model.json'].replace(data, data.slice(0, at) + (data[at] === 'A' ? 'B' : 'A') + data.slice(at + 1));
    files['v1.json'] = V1;
    files['images.json'] = JSON.stringify(Array.from(images));
    files['v1-images.json'] = JSON.stringify(Array.from(v1Images));
    // what Node reads back from the same file
    for (const backend of ['simd', 'scalar'] as const) {
      const back = await loadModel(path, backend);
      node[backend] = { moments: Array.from(back.moments(images)), predicted: Array.from(back.predict(images)) };
      back.dispose();
    }
    const v1 = await InterferenceNetwork.fromJSON(V1, 'simd');
    node.v1 = { moments: Array.from(v1.moments(v1Images)), predicted: Array.from(v1.predict(v1Images)) };
    v1.dispose();
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('predicts bit-identically, refuses a changed byte, migrates version 1', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // served from memory: no server, no port
    await page.route('http://model.test/**', (route) => {
      const name = new URL(route.request().url()).pathname.slice(1);
      if (name === 'ffit.js') return route.fulfill({ contentType: 'text/javascript', body: BUNDLE });
      if (name === 'main.js') return route.fulfill({ contentType: 'text/javascript', body: PAGE });
      if (name in files) return route.fulfill({ contentType: 'application/json', body: files[name]! });
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><script type="module" src="/main.js"></script>' });
    });
    await page.goto('http://model.test/');
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined);
    type Prediction = { backend?: string; meta?: unknown; metrics?: Record<string, number>; moments: number[]; predicted: number[]; code?: string };
    const r = await page.evaluate(() => (window as unknown as { result: Promise<Record<string, Prediction> & { error?: string }> }).result);
    expect(r.error).toBeUndefined();
    for (const backend of ['simd', 'scalar'] as const) {
      expect(r[backend]!.backend).toBe(backend);
      expect(r[backend]!.meta).toEqual({ classes: [0, 1, 2, 3] });
      expect(r[backend]!.metrics!.trainAccuracy).toBeGreaterThan(0);
      // JSON carries each Float32 exactly (as a double), so equality here is bit equality
      expect(r[backend]!.moments).toEqual(node[backend]!.moments);
      expect(r[backend]!.predicted).toEqual(node[backend]!.predicted);
    }
    expect(r.corrupted).toEqual({ code: 'E_MODEL_CHECKSUM' });
    expect(r.v1!.meta).toEqual({ classes: [4, 1, 7], note: 'written by ffit 0.1.0 (format version 1)' });
    expect(r.v1!.moments).toEqual(node.v1!.moments);
    expect(r.v1!.predicted).toEqual(node.v1!.predicted);
    expect(errors).toEqual([]);
    await page.close();
  });
});
