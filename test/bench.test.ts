// `npm run bench` runs end to end (in its seconds-long --smoke mode) and writes both reports.
// No timing is asserted here: performance is judged by the benchmark itself, never by tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = new URL('../bench/run.mjs', import.meta.url).pathname;

describe('bench/run.mjs --smoke', () => {
  it('measures every section and writes latest.json and latest.md', () => {
    const out = mkdtempSync(join(tmpdir(), 'ffit-bench-'));
    const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
    expect(positive(json.roofline.gflops)).toBe(true);
    expect(positive(json.roofline.copyGBs)).toBe(true);
    expect(json.kernels.rows.map((k: { kernel: string }) => k.kernel)).toEqual(
      ['transfer', 'forward', 'propagate', 'induce', 'accumulate', 'update', 'learn']);
    for (const k of json.kernels.rows) {
      for (const b of ['simd', 'scalar', 'js']) expect(positive(k.backends[b].gflops)).toBe(true);
    }
    expect(json.training.length).toBeGreaterThan(0);
    for (const t of json.training) expect(positive(t.trainPerSecond) && positive(t.inferPerSecond) && positive(t.wasmMemoryBytes)).toBe(true);
    for (const t of json.tfjs) expect(positive(t.train)).toBe(true);
    expect(json.tfjs.some((t: { backend: string; simd: boolean }) => t.backend === 'wasm' && t.simd)).toBe(true);
    for (const s of ['width', 'durations', 'depth']) expect(Number.isFinite(json.scaling[s].exponent)).toBe(true);
    expect(positive(json.threads[0].speedup)).toBe(true);
    // the ceiling: two one-thread trainers at once, and the examples per second they make together
    const t0 = json.threads[0];
    expect(t0.independentSeconds.length).toBe(2);
    for (const s of t0.independentSeconds) expect(positive(s)).toBe(true);
    expect(t0.independentSpeedup).toBeCloseTo(t0.oneThreadSeconds / t0.independentSeconds[0] + t0.oneThreadSeconds / t0.independentSeconds[1], 12);
    // where a batch's time goes, on one and on two threads: every batch of one more epoch timed
    for (const b of [t0.breakdown.one, t0.breakdown.two]) {
      expect(b.batches).toBe(Math.ceil(t0.examples / json.data.batch));
      for (const k of ['loadForwardMicros', 'learnMicros', 'batchMedianMicros', 'batchMeanMicros']) expect(positive(b[k])).toBe(true);
      expect(b.loadForwardMicros + b.learnMicros).toBeLessThan(b.batchMedianMicros * 1.5);
      expect(Number.isFinite(b.restMicros)).toBe(true);
    }
    expect(positive(json.memory.rssPeakBytes)).toBe(true);
    expect(json.targets.length).toBeGreaterThan(5);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('## Targets (issue 5)');
    expect(md).toContain('| learn |');
    expect(md).toContain(`| ${t0.layers.join('→')} | 2 | `);
    // one-thread figures name their core where the bench could pin one (Linux with taskset)
    if (json.cores) {
      expect(json.cores.perCore.length).toBeGreaterThanOrEqual(2);
      for (const t of json.training) expect(json.cores.perCore.map((c: { cpu: number }) => c.cpu)).toContain(t.cpu);
      expect(md).toContain('## Cores');
    }
  });

  it('refuses an empty --out instead of writing into the working directory', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ffit-bench-'));
    const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--out', ''], { encoding: 'utf8', timeout: 20_000, cwd });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('bench: --out is empty; give the results directory (or leave --out out for the default).');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses an --out it cannot use at once, with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-bench-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'sub'), '/proc/ffit-no-such-dir']) {
      const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--out', out], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^bench: --out ${out} cannot be used as the results directory \\((ENOTDIR|ENOENT)\\)`))]);
    }
  });
});
