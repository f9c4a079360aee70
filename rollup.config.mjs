// Bundles the tsc output (build/tsc) into the published files:
//   dist/index.js, dist/node.js, dist/cli.js  ESM for Node; dependencies stay external
//   dist/browser/ffit.js (+ .min.js)          ESM for browsers and bundlers: one self-contained file,
//                                             dependencies and both WebAssembly builds inlined,
//                                             no fs, no process
// Type declarations come from tsc directly (dist/types).
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const deps = Object.keys(pkg.dependencies ?? {});
const builtins = new Set(builtinModules);
const nodeExternal = (id) =>
  id.startsWith('node:') || builtins.has(id) || deps.some((d) => id === d || id.startsWith(`${d}/`));

/** The browser bundle must not reach for Node: any such import is a build error, not a runtime surprise. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  resolveId(id, importer) {
    if (id.startsWith('node:') || builtins.has(id)) {
      this.error(`browser bundle: ${importer} imports the Node module "${id}"; keep Node-only code out of src/index.ts's imports.`);
    }
    return null;
  },
};

export default [
  {
    // `ffit` in Node is src/index.node.ts: src/index.ts plus worker threads for `threads` > 1
    input: { index: 'build/tsc/index.node.js', node: 'build/tsc/node.js', cli: 'build/tsc/cli.js' },
    external: nodeExternal,
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js' },
  },
  {
    input: 'build/tsc/index.js',
    plugins: [noNodeBuiltins, nodeResolve({ browser: true, preferBuiltins: false })],
    output: [
      { file: 'dist/browser/ffit.js', format: 'es' },
      { file: 'dist/browser/ffit.min.js', format: 'es', plugins: [terser()] },
    ],
  },
];
