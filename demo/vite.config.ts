// Builds the demo page (demo/dist) against the package's own browser bundle: `ffit` resolves
// through package.json's `exports` (browser condition) to dist/browser/ffit.js, as it would for
// any app that installed ffit. `npm run demo` serves the result on 127.0.0.1 only.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/** Writes dist/sw.js from demo/sw.js with the list of built files and a content hash as version. */
function serviceWorker(): Plugin {
  let outDir = '';
  return {
    name: 'ffit-demo-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const files: string[] = [];
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir).sort()) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else if (name !== 'sw.js') files.push(relative(outDir, path).split('\\').join('/'));
        }
      };
      walk(outDir);
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(join(outDir, f)));
      const precache = { version: hash.digest('hex').slice(0, 16), files: ['./', ...files.map((f) => `./${f}`)] };
      const sw = readFileSync(join(here, 'sw.js'), 'utf8').replace('self.__PRECACHE__', JSON.stringify(precache));
      writeFileSync(join(outDir, 'sw.js'), sw);
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  publicDir: 'public',
  resolve: { alias: [{ find: /^ffit$/, replacement: packageRoot }] },
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  preview: { host: '127.0.0.1', port: 5178 },
  plugins: [serviceWorker()],
});
