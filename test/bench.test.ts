// `npm run bench` runs end to end (in its seconds-long --smoke mode) and writes both reports.
// No timing is asserted here: performance is judged by the benchmark itself, never by tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../bench/run.mjs', import.meta.url));

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

  it('refuses unknown arguments and two modes at once with one line, before it measures anything', () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /^bench: Unknown option '--bogus'\. It takes --quick or --smoke, --out DIR and --no-tfjs/],
      [['extra'], /^bench: Unexpected argument 'extra'/],
      [['--out'], /^bench: Option '--out <value>' argument missing/],
      [['--quick', '--smoke'], /^bench: --quick and --smoke are two different modes; give one of them\.$/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
  });

  it('refuses at once a directory it cannot write to, and removes the directories it made for a path that fails', () => {
    if (existsSync('/sys/kernel')) { // sysfs: no new files, not even for root
      const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--out', '/sys/kernel'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/^bench: --out \/sys\/kernel cannot be used as the results directory \((EACCES|EPERM|EROFS)\)/);
    }
    const dir = mkdtempSync(join(tmpdir(), 'ffit-bench-'));
    const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--out', join(dir, 'a', 'b', 'x'.repeat(300))], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\(ENAMETOOLONG\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes both files or neither: a latest.md that is a directory is refused at once and the old latest.json stays', () => {
    const out = mkdtempSync(join(tmpdir(), 'ffit-bench-'));
    writeFileSync(join(out, 'latest.json'), 'old');
    mkdirSync(join(out, 'latest.md', 'in-the-way'), { recursive: true });
    const r = spawnSync(process.execPath, [SCRIPT, '--smoke', '--no-tfjs', '--out', out], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^bench: --out .* cannot be used as the results directory \(EISDIR\)/)]);
    expect(readFileSync(join(out, 'latest.json'), 'utf8')).toBe('old');
    expect(readdirSync(out).sort()).toEqual(['latest.json', 'latest.md']);
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

describe('bench/readme.mjs', () => {
  const README = fileURLToPath(new URL('../README.md', import.meta.url));
  const READER = fileURLToPath(new URL('../bench/readme.mjs', import.meta.url));
  it('refuses, with one line and README.md untouched, what is not a full result of bench/run.mjs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-readme-'));
    const file = (name: string, text: string) => { writeFileSync(join(dir, name), text); return join(dir, name); };
    const before = readFileSync(README, 'utf8');
    const latest = () => JSON.parse(readFileSync(fileURLToPath(new URL('../bench/results/latest.json', import.meta.url)), 'utf8'));
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.json')], /cannot read .*missing\.json as a benchmark result \(ENOENT\)/],
      [[file('text.json', '# not json')], /cannot read .*text\.json as a benchmark result \(Unexpected token/],
      [[dir], /cannot read .* as a benchmark result \(EISDIR\)/],
      [[file('null.json', 'null')], /null\.json is not a complete result of bench\/run\.mjs \(it has no meta\.mode\)/],
      [[file('smoke.json', JSON.stringify({ ...JSON.parse(readFileSync(fileURLToPath(new URL('../bench/results/latest.json', import.meta.url)), 'utf8')),
        meta: { ...JSON.parse(readFileSync(fileURLToPath(new URL('../bench/results/latest.json', import.meta.url)), 'utf8')).meta, mode: 'smoke' } }))],
      /smoke\.json is from a --smoke run; the README quotes full runs only/],
      [['--dry-run'], /^bench\/readme\.mjs: Unknown option '--dry-run'.* It takes one results file/],
      [['a.json', 'b.json'], /give one results file, not 2 \(a\.json, b\.json\)/],
      [[file('targets.json', JSON.stringify({ ...latest(), targets: [{}] }))], /targets\.json has values of the wrong kind in targets/],
      [[file('load.json', JSON.stringify({ ...latest(), meta: { ...latest().meta, loadavgStart: 5 } }))], /has values of the wrong kind in meta\.loadavgStart/],
      [[file('training.json', JSON.stringify({ ...latest(), training: [] }))], /training\.json has values of the wrong kind in training/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [READER, ...args], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
    expect(readFileSync(README, 'utf8')).toBe(before);
  });
});
