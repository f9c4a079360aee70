// The published files (built by `npm run build`): the browser bundle is self-contained and free of
// Node, runs the same kernels as the Node bundle bit for bit, and `auto` falls back visibly.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomData } from './helpers/nets.js';

type Ffit = typeof import('../src/index.js');
const root = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const browserBundle = async (): Promise<Ffit> => (await import('../dist/browser/ffit.js')) as Ffit;
const nodeBundle = async (): Promise<Ffit> => (await import('../dist/index.js')) as Ffit;

describe('package layout', () => {
  const pkg = JSON.parse(read('package.json'));

  it('exports map: types, browser and node conditions point at built files', () => {
    const dot = pkg.exports['.'];
    expect(Object.keys(dot)).toEqual(['types', 'browser', 'node', 'default']); // order matters: first match wins
    expect(Object.keys(pkg.exports['./node'])).toEqual(['types', 'node']); // no browser fallback for fs code
    const targets = [pkg.main, pkg.types, pkg.bin.ffit, ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e as object)))];
    for (const t of targets) expect(existsSync(new URL(t as string, root)), t as string).toBe(true);
  });

  it('the ffit bin is an executable Node script', () => {
    expect(read(pkg.bin.ffit).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(() => accessSync(new URL(pkg.bin.ffit, root), constants.X_OK)).not.toThrow();
  });

  it('the browser bundle imports nothing and never touches Node (fs, process, require, Buffer)', () => {
    for (const file of ['dist/browser/ffit.js', 'dist/browser/ffit.min.js']) {
      const code = read(file);
      expect(code).not.toMatch(/^\s*import\s/m);
      expect(code).not.toMatch(/\bimport\s*\(/);
    }
    const code = read('dist/browser/ffit.min.js'); // minified: comments are gone, only code is left
    // the global `process` (not a method of that name: @noble/hashes' SHA-256 has `this.process(…)`)
    for (const node of [/(?<![.\w$])process\s*[.[]|typeof\s+process\b/, /\brequire\s*\(/, /\bBuffer\b/, /["']node:/, /["']fs["']/, /__dirname|__filename/]) {
      expect(code).not.toMatch(node);
    }
  });
});

describe('browser bundle = Node bundle', () => {
  it.each(['simd', 'scalar', 'js'] as const)('the same seeded training gives the same bits (%s)', async (backend) => {
    const runs = await Promise.all([browserBundle(), nodeBundle()].map(async (load) => {
      const ffit = await load;
      const net = await ffit.InterferenceNetwork.create({ layers: [20, 7, 3], durations: 3, seed: 5, batchSize: 4, backend });
      const { images, labels } = randomData(9, 24, 20, 3);
      const history = net.fit({ images, labels }, { epochs: 2 });
      const out = { backend: net.backendName, json: net.toJSON(), proba: net.predictProba(images), loss: history.map((h) => h.trainLoss) };
      net.dispose();
      return out;
    }));
    expect(runs[0]!.backend).toBe(backend);
    expect(runs[0]!.json).toEqual(runs[1]!.json);
    expect(runs[0]!.proba).toEqual(runs[1]!.proba);
    expect(runs[0]!.loss).toEqual(runs[1]!.loss);
  });
});

describe('backend detection in the browser bundle', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('auto picks simd where WebAssembly SIMD validates, silently', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.resetModules();
    const ffit = await browserBundle();
    expect(ffit.simdSupported()).toBe(true);
    const net = await ffit.InterferenceNetwork.create({ layers: [4, 2] });
    expect(net.backendName).toBe('simd');
    expect(warn).not.toHaveBeenCalled();
  });

  it('without SIMD, auto falls back to scalar and says so once; forcing simd is a clear error', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false); // an engine that rejects the SIMD build
    vi.resetModules();
    const ffit = await browserBundle();
    expect(ffit.simdSupported()).toBe(false);
    expect(ffit.resolveBackend('auto')).toBe('scalar');
    const nets = [await ffit.InterferenceNetwork.create({ layers: [4, 2] }), await ffit.InterferenceNetwork.create({ layers: [4, 2] })];
    expect(nets.map((n) => n.backendName)).toEqual(['scalar', 'scalar']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/no SIMD; using the scalar build/);
    await expect(ffit.InterferenceNetwork.create({ layers: [4, 2], backend: 'simd' })).rejects.toMatchObject({ code: 'E_BACKEND' });
    expect((await ffit.InterferenceNetwork.create({ layers: [4, 2], backend: 'scalar' })).backendName).toBe('scalar');
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('without WebAssembly, auto falls back to the js reference backend and says so', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const ffit = await browserBundle();
    const net = await ffit.InterferenceNetwork.create({ layers: [4, 2] });
    expect(net.backendName).toBe('js');
    expect(String(warn.mock.calls[0]![0])).toMatch(/no WebAssembly; using the TypeScript reference backend/);
  });
});
