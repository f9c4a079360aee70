// The README's library example runs as written (imports mapped to the built package).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('the README library example runs and reaches the accuracy it implies', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)![1]!
    .replace("from 'ffit'", `from '${new URL('../dist/index.js', import.meta.url).href}'`)
    .replace("from 'ffit/node'", `from '${new URL('../dist/node.js', import.meta.url).href}'`);
  const file = join(mkdtempSync(join(tmpdir(), 'ffit-readme-')), 'example.mjs');
  writeFileSync(file, code);
  const lines = execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim().split('\n');
  expect(lines).toHaveLength(3); // one line per epoch
  const last = Number(lines[2]!.split(' ')[1]);
  expect(last).toBeGreaterThan(0.97);
  expect(readme).toContain(`ends at ${(100 * last).toFixed(2)} %`);
});
