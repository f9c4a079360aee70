// Node saves a model; headless Chromium loads the same file with a browser bundle of ffit and
// predicts: the moments must be bit-identical to Node's (same WebAssembly build, same inputs), and
// the same file with one changed byte must be refused with E_MODEL_CHECKSUM in the browser too.
//
//   node scripts/browser-model-check.mjs        (after `npm run build`; needs /usr/bin/chromium)
//
// The bundle is made with vite (browser resolution: fflate's browser build, no node: modules).
// Prints one JSON line and exits 0 when everything matches, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { InterferenceNetwork } from '../dist/index.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ffit-browser-model-'));

try {
  // 1. Node: train a small lattice, save the model, record the moments it predicts
  const net = await InterferenceNetwork.create({ layers: [64, 16, 4], durations: 4, seed: 11, batchSize: 8, backend: 'simd' });
  const images = Float32Array.from({ length: 20 * 64 }, (_, i) => ((i * 2654435761) % 97) / 97);
  const labels = Int32Array.from({ length: 20 }, (_, i) => i % 4);
  net.fit({ images, labels }, { epochs: 3 });
  const model = JSON.stringify(net.toJSON({ classes: [0, 1, 2, 3] }));
  const data = net.toJSON().logits[0].data, at = data.length >> 1;
  const corrupted = model.replace(data, data.slice(0, at) + (data[at] === 'A' ? 'B' : 'A') + data.slice(at + 1));
  const node = { moments: Array.from(net.moments(images)), predicted: Array.from(net.predict(images)) };
  net.dispose();
  writeFileSync(join(dir, 'model.json'), model);
  writeFileSync(join(dir, 'corrupted.json'), corrupted);
  writeFileSync(join(dir, 'images.json'), JSON.stringify(Array.from(images)));

  // 2. A browser bundle of the library entry point
  await build({
    root, logLevel: 'silent', configFile: false,
    build: { lib: { entry: join(root, 'dist/index.js'), formats: ['es'], fileName: 'ffit' }, outDir: join(dir, 'bundle'), minify: false, target: 'es2022', emptyOutDir: true },
  });
  const bundle = readFileSync(join(dir, 'bundle/ffit.js'), 'utf8');
  if (/from ['"]node:|require\(['"]node:/.test(bundle)) throw new Error('the browser bundle imports a node: module');

  // 3. The page: load both files, predict, report into the DOM
  writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><pre id="out">pending</pre>
<script type="module">
import { InterferenceNetwork, FfitError } from './bundle/ffit.js';
const out = document.getElementById('out');
try {
  const images = Float32Array.from(await (await fetch('images.json')).json());
  const net = await InterferenceNetwork.fromJSON(await (await fetch('model.json')).text(), 'simd');
  const result = { backend: net.backendName, meta: net.meta, moments: Array.from(net.moments(images)), predicted: Array.from(net.predict(images)) };
  try {
    await InterferenceNetwork.fromJSON(await (await fetch('corrupted.json')).text());
    result.corrupted = 'accepted';
  } catch (e) {
    result.corrupted = e instanceof FfitError ? e.code : String(e);
  }
  out.textContent = JSON.stringify(result);
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e) });
}
</script>`);
  const server = createServer((req, res) => {
    let body;
    const path = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      if (!path.startsWith(dir)) throw new Error('outside');
      body = readFileSync(path);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const type = path.endsWith('.html') ? 'text/html' : path.endsWith('.js') ? 'text/javascript' : 'application/json';
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/index.html`;
  const chrome = await new Promise((resolve) => {
    // async so that this process keeps serving the page while Chromium loads it
    import('node:child_process').then(({ execFile }) => execFile(CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${join(dir, 'profile')}`, '--virtual-time-budget=30000', '--dump-dom', url],
      { timeout: 120_000, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => resolve({ error, stdout, stderr })));
  });
  server.close();
  const text = /<pre id="out">([\s\S]*?)<\/pre>/.exec(chrome.stdout)?.[1];
  if (!text || text === 'pending') throw new Error(`no result from Chromium: ${chrome.error ?? ''} ${chrome.stderr.slice(-500)}`);
  const browser = JSON.parse(text.replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
  if (browser.error) throw new Error(`browser: ${browser.error}`);
  const f32 = (a) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  const identical = JSON.stringify(f32(browser.moments)) === JSON.stringify(f32(node.moments));
  const report = {
    chromium: spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    bundleKiB: Math.round(bundle.length / 1024),
    browserBackend: browser.backend,
    images: labels.length,
    momentsBitIdentical: identical,
    predictionsEqual: JSON.stringify(browser.predicted) === JSON.stringify(node.predicted),
    metaEqual: JSON.stringify(browser.meta) === JSON.stringify({ classes: [0, 1, 2, 3] }),
    corruptedByteInBrowser: browser.corrupted,
  };
  console.log(JSON.stringify(report));
  const ok = identical && report.predictionsEqual && report.metaEqual && browser.corrupted === 'E_MODEL_CHECKSUM';
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
