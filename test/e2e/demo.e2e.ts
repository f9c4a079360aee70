// The demo page (demo/dist, built by `npm run demo:build`) in headless Chromium: it loads the
// MNIST slice, trains in its Web Worker, reaches the accuracy of the same run in Node bit for bit,
// predicts a drawn digit, draws worldlines, reads dropped IDX files and works offline.
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareData, readIdxFiles, runTraining, type RunResult, type TrainConfig } from '../../demo/src/run.js';
import { strongestWorldlines } from '../../demo/src/worldlines.js';
import type { WorldlineView } from '../../demo/src/protocol.js';
import { sitePositions } from '../../src/options.js';
import { launch } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = `${ROOT}demo/dist/data/`;
const SLICE = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
export const SCREENSHOT = `${ROOT}build/e2e/demo.png`;
/** The page must train within this (seconds); a 2-core machine does the default run in about 3 s. */
const TRAIN_LIMIT = 90;

/** The page's defaults with the backend pinned, and a second, different run on the scalar build. */
const RUNS: Record<'simd' | 'scalar', TrainConfig> = {
  simd: { classes: [0, 1, 2, 3], shots: null, hidden: 64, durations: 4, beta: 60, eta: 10, response: 'linear', epochs: 5, batchSize: 32, seed: 0, backend: 'simd' },
  scalar: { classes: [0, 1, 2, 3], shots: 100, hidden: 32, durations: 3, beta: 40, eta: 8, response: 'ising', epochs: 3, batchSize: 16, seed: 7, backend: 'scalar' },
};

interface DemoState {
  state: string;
  simd: boolean | null;
  notice: string | null;
  data: { source: string; trainCount: number; testCount: number | null } | null;
  backend: string | null;
  result: RunResult | null;
  prediction: { predicted: number; digit: number; proba: number[] } | null;
  worldlines: WorldlineView | null;
  error: string | null;
}

const demoState = (page: Page): Promise<DemoState> =>
  page.evaluate(() => (window as unknown as { ffitDemo: DemoState }).ffitDemo);

async function waitFor(page: Page, predicate: string, seconds: number): Promise<void> {
  await page.waitForFunction(`(() => { const d = window.ffitDemo; return d !== undefined && (${predicate}); })()`, null, { timeout: seconds * 1000 });
}

async function setControls(page: Page, c: TrainConfig): Promise<void> {
  await page.fill('input[name=classes]', c.classes.join(','));
  await page.fill('input[name=shots]', c.shots === null ? '' : String(c.shots));
  for (const k of ['hidden', 'durations', 'beta', 'eta', 'epochs', 'batchSize', 'seed'] as const) {
    await page.fill(`input[name=${k}]`, String(c[k]));
  }
  await page.selectOption('select[name=response]', c.response);
  await page.selectOption('select[name=backend]', c.backend);
}

/** Presses Train and waits for the worker's result; returns it with the wall time in seconds. */
async function trainInPage(page: Page, c: TrainConfig): Promise<{ result: RunResult; seconds: number }> {
  await setControls(page, c);
  const t0 = performance.now();
  await page.click('#train');
  await waitFor(page, "d.state === 'done' || d.state === 'error'", TRAIN_LIMIT);
  const seconds = (performance.now() - t0) / 1000;
  const s = await demoState(page);
  expect(s.error).toBeNull();
  expect(s.state).toBe('done');
  return { result: s.result!, seconds };
}

/** The same run in Node: same code (demo/src/run.ts), Node bundle, the very files the page fetched. */
async function trainInNode(c: TrainConfig) {
  const files = SLICE.map((name) => ({ name, bytes: new Uint8Array(readFileSync(`${DATA}${name}.gz`)) }));
  const sets = prepareData(readIdxFiles(files), c);
  const t0 = performance.now();
  const run = await runTraining(sets, c);
  return { ...run, sets, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Everything of a run that must not depend on the engine: the model (logits), every accuracy,
 * energy and confusion matrix. Timings are left out, and so is the reported loss −log P(y|x): it
 * is computed outside the kernels with Math.exp / Math.log, whose last bit differs between V8
 * versions (Node 20 vs Chromium); it is compared to 12 digits instead.
 */
const comparable = (r: RunResult) => {
  const ev = ({ loss: _l, ...rest }: RunResult['test']) => rest;
  return {
    backend: r.backend, lattice: r.lattice, trainCount: r.trainCount, testCount: r.testCount, test: ev(r.test), model: r.model,
    history: r.history.map(({ seconds: _s, samplesPerSecond: _sps, trainLoss: _tl, test, validation: _v, ...rest }) => ({ ...rest, test: test && ev(test) })),
  };
};
const losses = (r: RunResult): number[] => r.history.flatMap((h) => [h.trainLoss, h.test!.loss]);

function expectSameRun(browser: RunResult, node: RunResult): void {
  expect(comparable(browser)).toEqual(comparable(node));
  losses(browser).forEach((loss, i) => expect(loss).toBeCloseTo(losses(node)[i]!, 12));
}

/** Drags the mouse through `points` (fractions of the pad) as one stroke. */
async function stroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 3 });
  await page.mouse.up();
}

async function drawAndPredict(page: Page, points: [number, number][]): Promise<NonNullable<DemoState['prediction']>> {
  await page.click('#clear');
  await stroke(page, points);
  await waitFor(page, 'd.prediction !== null', 20);
  return (await demoState(page)).prediction!;
}

describe('demo page in headless Chromium', () => {
  let server: PreviewServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  const problems: string[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    server = await preview({ configFile: `${ROOT}demo/vite.config.ts`, preview: { host: '127.0.0.1', port: 0, strictPort: true }, logLevel: 'silent' });
    url = server.resolvedUrls!.local[0]!;
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    // counts WebAssembly instances made by the page itself: the kernels must run in the worker
    await context.addInitScript(() => {
      const w = window as unknown as { mainThreadInstances: number };
      w.mainThreadInstances = 0;
      const instantiate = WebAssembly.instantiate.bind(WebAssembly);
      WebAssembly.instantiate = ((...args: Parameters<typeof WebAssembly.instantiate>) => {
        w.mainThreadInstances++;
        return instantiate(...args);
      }) as typeof WebAssembly.instantiate;
    });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  });

  afterAll(async () => {
    console.log(`e2e timings (s): ${JSON.stringify(timings)}`);
    await browser?.close();
    await server?.close();
  });

  it('loads the MNIST slice and detects SIMD', async () => {
    const t0 = performance.now();
    await page.goto(url);
    await waitFor(page, "d.state === 'idle'", 30);
    timings.load = (performance.now() - t0) / 1000;
    const s = await demoState(page);
    expect(s.data).toEqual({ source: 'MNIST slice', trainCount: 3000, testCount: 1000 });
    expect(s.simd).toBe(true); // Chromium has WebAssembly SIMD: no fallback notice
    expect(s.notice).toBeNull();
    expect(await page.isHidden('#notice')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('trains in the worker past 95 % and matches the Node run bit for bit (simd)', async () => {
    const browserRun = await trainInPage(page, RUNS.simd);
    timings.trainSimdBrowser = browserRun.seconds;
    const node = await trainInNode(RUNS.simd);
    timings.trainSimdNode = node.seconds;
    console.log(`simd: browser test accuracy ${browserRun.result.test.accuracy}, Node ${node.result.test.accuracy}`);
    expect(browserRun.result.backend).toBe('simd');
    expect(browserRun.result.test.accuracy).toBeGreaterThan(0.95);
    expectSameRun(browserRun.result, node.result);
    expect(await page.evaluate(() => (window as unknown as { mainThreadInstances: number }).mainThreadInstances)).toBe(0);
    expect(await page.textContent('#test-acc')).toBe(`test accuracy ${(100 * node.result.test.accuracy).toFixed(2)} %`);
    expect(await page.locator('#confusion tbody tr').count()).toBe(4);

    // the worldlines the page drew for test example 0 are the ones Node finds with the same network
    await waitFor(page, 'd.worldlines !== null', 20);
    const view = (await demoState(page)).worldlines!;
    const o = node.net.options;
    const pixels = Float32Array.from(node.sets.test.images.subarray(0, 784));
    const total = pixels.reduce((s, v) => s + v, 0);
    const expected = strongestWorldlines({
      ...o, positions: o.layers.map((_, l) => sitePositions(o, l)), probabilities: [0, 1].map((l) => node.net.probabilities(l)),
    }, pixels.map((v) => v / total), node.net.predict(pixels)[0]!, 40);
    expect(view.worldlines).toEqual(expected);
    expect(view.digit).toBe(node.sets.test.classes[node.sets.test.labels[0]!]);
    node.net.dispose();
  });

  it('predicts digits drawn on the canvas', async () => {
    const one = await drawAndPredict(page, [[0.5, 0.15], [0.5, 0.5], [0.5, 0.85]]);
    expect(one.digit).toBe(1);
    const circle = Array.from({ length: 25 }, (_, i) => [0.5 + 0.28 * Math.sin((2 * Math.PI * i) / 24), 0.5 - 0.36 * Math.cos((2 * Math.PI * i) / 24)] as [number, number]);
    const zero = await drawAndPredict(page, circle);
    expect(zero.digit).toBe(0);
    expect(zero.proba.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(await page.textContent('#pred-class')).toBe('0');
    await page.click('#pad-worldlines');
    await waitFor(page, 'd.worldlines.digit === null', 20); // the drawn 0, not a test example
    const view = (await demoState(page)).worldlines!;
    expect(view.predicted).toBe(0);
    expect(view.worldlines).toHaveLength(40);
    expect(view.worldlines.every((w) => w.sites[2] === 0)).toBe(true);
    mkdirSync(`${ROOT}build/e2e`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('matches Node on the scalar build too, with few shots and the ising response', async () => {
    const browserRun = await trainInPage(page, RUNS.scalar);
    timings.trainScalarBrowser = browserRun.seconds;
    const node = await trainInNode(RUNS.scalar);
    console.log(`scalar: browser test accuracy ${browserRun.result.test.accuracy}, Node ${node.result.test.accuracy}`);
    expect(browserRun.result.backend).toBe('scalar');
    expect(browserRun.result.trainCount).toBe(400);
    expectSameRun(browserRun.result, node.result);
    node.net.dispose();
  });

  it('stops a running training at once (the page answers while the worker computes)', async () => {
    await setControls(page, { ...RUNS.simd, epochs: 200 }); // 600 000 examples: half a minute or more
    await page.click('#train');
    await waitFor(page, 'd.points.length > 0', 30);
    await page.click('#stop');
    const s = await demoState(page);
    expect(s.state).toBe('idle');
    expect(s.result).toBeNull();
    expect(await page.textContent('#status')).toMatch(/^Stopped/);
  });

  it('shows a clear error for a bad setting', async () => {
    await setControls(page, { ...RUNS.scalar, shots: 5000 });
    await page.click('#train');
    await waitFor(page, "d.state === 'error'", 30);
    expect(await page.textContent('#error')).toMatch(/only 750 examples, fewer than the 5000 shots.*\[E_DATA\]/);
  });

  it('reads IDX files dropped on the page, with or without a test set', async () => {
    await page.setInputFiles('#idx-input', SLICE.map((n) => `${DATA}${n}.gz`));
    await waitFor(page, "d.state === 'idle' && d.data.source === '4 dropped files'", 30);
    expect((await demoState(page)).data).toEqual({ source: '4 dropped files', trainCount: 3000, testCount: 1000 });
    await page.setInputFiles('#idx-input', SLICE.slice(0, 2).map((n) => `${DATA}${n}.gz`));
    await waitFor(page, "d.state === 'idle' && d.data.source === '2 dropped files'", 30);
    expect((await demoState(page)).data).toEqual({ source: '2 dropped files', trainCount: 3000, testCount: null });
    const run = await trainInPage(page, { ...RUNS.simd, shots: 30, epochs: 2, hidden: 16 });
    expect(run.result.testCount).toBe(600); // the seeded 20 % split of 3000
  });

  it('works offline once loaded (service worker cache)', async () => {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await context.setOffline(true);
    try {
      await page.reload();
      await waitFor(page, "d.state === 'idle'", 30);
      expect((await demoState(page)).data?.source).toBe('MNIST slice');
      const run = await trainInPage(page, { ...RUNS.simd, shots: 20, epochs: 1, hidden: 16 });
      expect(run.result.trainCount).toBe(80);
    } finally {
      await context.setOffline(false);
    }
    expect(problems).toEqual([]);
  });
});
