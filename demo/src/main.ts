/**
 * The demo page: loads data, hands it to the training worker, and draws what comes back (curves
 * with uPlot, confusion matrix, space-time diagram, drawing pad). The page itself runs no kernel,
 * so it never freezes while a network trains.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { EpochRecord } from 'ffit';
import { drawingPad, paintDigit, toMnist } from './draw.js';
import type { ExampleRef, FromWorker, ToWorker, WorldlineView } from './protocol.js';
import type { ProgressPoint, RunResult, TrainConfig } from './run.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Standard MNIST names of the slice that `npm run demo:data` writes into the demo's data/ folder. */
const SLICE = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

type State = 'loading' | 'idle' | 'training' | 'done' | 'error';

/** What the page shows, also read by the end-to-end test (`window.ffitDemo`). */
const demo = {
  state: 'loading' as State,
  simd: null as boolean | null,
  notice: null as string | null,
  data: null as { source: string; trainCount: number; testCount: number | null } | null,
  backend: null as string | null,
  points: [] as ProgressPoint[],
  epochs: [] as EpochRecord[],
  result: null as RunResult | null,
  prediction: null as { predicted: number; digit: number; proba: number[] } | null,
  worldlines: null as WorldlineView | null,
  error: null as string | null,
};
(window as unknown as { ffitDemo: typeof demo }).ffitDemo = demo;

// ---------------------------------------------------------------- worker

let worker: Worker;
let files: { name: string; bytes: ArrayBuffer }[] | null = null;
let source = '';
let requestId = 0;
/** Set while a stopped worker's replacement reloads the same data: keeps the "Stopped" status. */
let respawned = false;

function spawn(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => receive(e.data);
  worker.onerror = (e) => fail(`The training worker failed: ${e.message}`);
  if (files) send({ type: 'data', source, files });
}

const send = (msg: ToWorker): void => worker.postMessage(msg);

function setState(state: State, status?: string): void {
  demo.state = state;
  document.body.dataset.state = state;
  $<HTMLButtonElement>('train').disabled = state === 'training' || state === 'loading' || !files;
  $<HTMLButtonElement>('stop').disabled = state !== 'training';
  const trained = state === 'done';
  for (const id of ['example', 'random-example', 'pad-worldlines']) $<HTMLInputElement>(id).disabled = !trained;
  if (status !== undefined) $('status').textContent = status;
}

function fail(message: string): void {
  demo.error = message;
  $('error').textContent = message;
  $('error').hidden = false;
  setState(files ? 'error' : 'loading', 'Stopped by an error.');
}

function receive(msg: FromWorker): void {
  switch (msg.type) {
    case 'ready': {
      demo.simd = msg.simd;
      const notice = !msg.wasm
        ? 'This browser has no WebAssembly: ffit falls back to its TypeScript reference backend ("js", about 8× slower).'
        : !msg.simd
          ? 'This browser\'s WebAssembly has no SIMD: ffit falls back to its scalar build (about 1.5× slower).'
          : null;
      demo.notice = notice;
      $('notice').textContent = notice ?? '';
      $('notice').hidden = notice === null;
      $('backend').textContent = `backend: auto → ${msg.simd ? 'simd' : msg.wasm ? 'scalar' : 'js'}`;
      return;
    }
    case 'data':
      demo.data = { source: msg.source, trainCount: msg.trainCount, testCount: msg.testCount };
      $('data-status').textContent = `${msg.source}: ${msg.trainCount} training and ${msg.testCount ?? 'no'} test images ` +
        `(digits ${msg.digits.join(', ')})${msg.testCount === null ? '; 20 % of the training images will be the test set' : ''}.`;
      setState('idle', respawned ? undefined : 'Ready: press Train.');
      respawned = false;
      return;
    case 'started':
      demo.backend = msg.backend;
      $('backend').textContent = `backend: ${msg.backend}`;
      $('status').textContent = `Training ${msg.lattice.join(' → ')} on ${msg.trainCount} images (test ${msg.testCount})…`;
      return;
    case 'progress': {
      demo.points.push(msg.point);
      const bar = $<HTMLProgressElement>('progress');
      bar.value = msg.point.done / msg.point.total;
      scheduleCharts();
      return;
    }
    case 'epoch':
      demo.epochs.push(msg.record);
      scheduleCharts();
      if (msg.record.test) showConfusion(msg.record.test.confusion, msg.record.test.accuracy);
      $('status').textContent = `Epoch ${msg.record.epoch}: test ${pct(msg.record.test?.accuracy)}, ` +
        `${Math.round(msg.record.samplesPerSecond)} examples/s.`;
      return;
    case 'done':
      demo.result = msg.result;
      $<HTMLProgressElement>('progress').value = 1;
      setState('done', `Done: test accuracy ${pct(msg.result.test.accuracy)} after ${msg.result.history.length} epochs ` +
        `in ${msg.result.seconds.toFixed(1)} s on ${msg.result.backend}. Draw a digit, or explore the worldlines.`);
      $<HTMLInputElement>('example').max = String(msg.result.testCount - 1);
      requestWorldlines({ test: Number($<HTMLInputElement>('example').value) || 0 });
      predictPad();
      return;
    case 'prediction':
      if (msg.id !== padRequest) return;
      demo.prediction = { predicted: msg.predicted, digit: msg.classes[msg.predicted]!, proba: msg.proba };
      $('pred-class').textContent = String(msg.classes[msg.predicted]);
      showProba(msg.classes, msg.proba, msg.predicted);
      return;
    case 'worldlines':
      if (msg.id !== wlRequest) return;
      demo.worldlines = msg;
      drawDiagram(msg);
      return;
    case 'error':
      if (msg.during === 'predict' || msg.during === 'worldlines') {
        $('status').textContent = msg.message;
        return;
      }
      fail(`${msg.message}${msg.code ? ` [${msg.code}]` : ''}`);
      return;
  }
}

const pct = (x: number | undefined): string => (x === undefined ? '—' : `${(100 * x).toFixed(2)} %`);

// ---------------------------------------------------------------- data

async function loadSlice(): Promise<void> {
  try {
    const got = await Promise.all(SLICE.map(async (name) => {
      const res = await fetch(`./data/${name}.gz`);
      if (!res.ok) throw new Error(`./data/${name}.gz: HTTP ${res.status}; run \`npm run demo:data\`.`);
      return { name, bytes: await res.arrayBuffer() };
    }));
    useFiles(got, 'MNIST slice');
  } catch (err) {
    fail(`Could not load the MNIST slice (${(err as Error).message}). Drop IDX files instead.`);
  }
}

function useFiles(list: { name: string; bytes: ArrayBuffer }[], from: string): void {
  files = list;
  respawned = false;
  source = from;
  $('error').hidden = true;
  send({ type: 'data', source, files });
}

async function dropped(list: FileList | null): Promise<void> {
  if (!list || list.length === 0) return;
  if (demo.state === 'training') stop();
  const got = await Promise.all([...list].map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
  useFiles(got, `${got.length} dropped file${got.length > 1 ? 's' : ''}`);
}

const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  void dropped(e.dataTransfer?.files ?? null);
});
$<HTMLInputElement>('idx-input').addEventListener('change', (e) => void dropped((e.target as HTMLInputElement).files));

// ---------------------------------------------------------------- training

function readConfig(): TrainConfig {
  const f = new FormData($<HTMLFormElement>('controls'));
  const num = (k: string): number => Number(f.get(k));
  const shots = String(f.get('shots') ?? '').trim();
  return {
    classes: String(f.get('classes')).split(',').map((s) => Number(s.trim())),
    shots: shots === '' ? null : Number(shots),
    hidden: num('hidden'), durations: num('durations'), beta: num('beta'), eta: num('eta'),
    response: f.get('response') as TrainConfig['response'], epochs: num('epochs'), batchSize: num('batchSize'),
    seed: num('seed'), backend: f.get('backend') as TrainConfig['backend'],
  };
}

$<HTMLFormElement>('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  if (demo.state === 'training' || !files) return;
  demo.points = [];
  demo.epochs = [];
  demo.result = null;
  demo.error = null;
  $('error').hidden = true;
  $<HTMLProgressElement>('progress').value = 0;
  scheduleCharts();
  setState('training', 'Starting…');
  const config = readConfig();
  trainedClasses = config.classes;
  send({ type: 'train', config });
});

function stop(): void {
  worker.terminate();
  respawned = files !== null;
  spawn();
  setState('idle', 'Stopped. The network is discarded; press Train to start again.');
}
$('stop').addEventListener('click', stop);

// ---------------------------------------------------------------- curves (uPlot)

function chart(el: HTMLElement, yLabel: string, names: [string, string], range?: [number, number]): uPlot {
  return new uPlot({
    width: Math.max(320, el.clientWidth), height: 190,
    scales: { x: { time: false }, y: range ? { range } : { auto: true } },
    axes: [{ label: 'epoch' }, { label: yLabel }],
    series: [
      { label: 'epoch' },
      { label: names[0], stroke: '#e8590c', width: 1.5 },
      { label: names[1], stroke: '#1971c2', width: 2, spanGaps: true, points: { show: true, size: 7 } },
    ],
    legend: { live: false },
  }, [[], [], []], el);
}

const accChart = chart($('acc-chart'), '%', ['train (running)', 'test'], [0, 100]);
const energyChart = chart($('energy-chart'), 'E', ['train (running)', 'test']);
new ResizeObserver(() => {
  for (const [c, id] of [[accChart, 'acc-chart'], [energyChart, 'energy-chart']] as const) {
    c.setSize({ width: Math.max(320, $(id).clientWidth), height: 190 });
  }
}).observe($('curves'));

let chartFrame = 0;
function scheduleCharts(): void {
  if (chartFrame) return;
  chartFrame = requestAnimationFrame(() => {
    chartFrame = 0;
    const xs = demo.points.map((p) => p.x);
    const testAt = (pick: (r: EpochRecord) => number | undefined): (number | null)[] => xs.map((x) => {
      const r = demo.epochs.find((e) => e.epoch === x);
      const v = r ? pick(r) : undefined;
      return v === undefined ? null : v;
    });
    accChart.setData([xs, demo.points.map((p) => 100 * p.trainAccuracy), testAt((r) => r.test && 100 * r.test.accuracy)]);
    energyChart.setData([xs, demo.points.map((p) => p.trainEnergy), testAt((r) => r.test?.energy)]);
  });
}

// ---------------------------------------------------------------- confusion matrix, probabilities

let trainedClasses: number[] = [];

function showConfusion(confusion: number[][], accuracy: number): void {
  const classes = trainedClasses;
  const rows = confusion.map((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0) || 1;
    const cells = row.map((n) => `<td style="background: rgba(25, 113, 194, ${(n / sum).toFixed(3)}); color: ${n / sum > 0.5 ? '#fff' : '#000'}">${n}</td>`);
    return `<tr><th>${classes[i]}</th>${cells.join('')}</tr>`;
  });
  $('confusion').innerHTML = `<thead><tr><th>true ↓ predicted →</th>${classes.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody>`;
  $('test-acc').textContent = `test accuracy ${pct(accuracy)}`;
}

function showProba(classes: number[], proba: number[], predicted: number): void {
  $('proba').innerHTML = proba.map((p, k) =>
    `<div class="row${k === predicted ? ' top' : ''}"><span>${classes[k]}</span><div class="bar"><div style="width: ${(100 * p).toFixed(1)}%"></div></div><span>${p.toFixed(3)}</span></div>`).join('');
}

// ---------------------------------------------------------------- drawing pad

let padRequest = 0;
const pad = drawingPad($<HTMLCanvasElement>('pad'), () => predictPad());

function predictPad(): void {
  const pixels = toMnist($<HTMLCanvasElement>('pad'));
  const preview = $<HTMLCanvasElement>('pad-input');
  preview.getContext('2d')!.clearRect(0, 0, preview.width, preview.height);
  if (!pixels) return;
  paintDigit(preview, pixels);
  if (demo.state !== 'done') {
    $('pred-class').textContent = '…';
    return;
  }
  padRequest = ++requestId;
  send({ type: 'predict', id: padRequest, pixels });
}

$('clear').addEventListener('click', () => {
  pad.clear();
  padRequest = 0;
  demo.prediction = null;
  $('pred-class').textContent = '—';
  $('proba').innerHTML = '';
  predictPad();
});

// ---------------------------------------------------------------- space-time diagram

let wlRequest = 0;
function requestWorldlines(example: ExampleRef): void {
  wlRequest = ++requestId;
  const count = Math.max(1, Math.min(200, Number($<HTMLInputElement>('wl-count').value) || 40));
  send({ type: 'worldlines', id: wlRequest, example, count });
}

$('example').addEventListener('change', () => requestWorldlines({ test: Number($<HTMLInputElement>('example').value) || 0 }));
$('wl-count').addEventListener('change', () => {
  if (demo.state === 'done') requestWorldlines({ test: Number($<HTMLInputElement>('example').value) || 0 });
});
$('random-example').addEventListener('click', () => {
  const n = demo.result?.testCount ?? 1;
  const i = Math.floor(Math.random() * n);
  $<HTMLInputElement>('example').value = String(i);
  requestWorldlines({ test: i });
});
$('pad-worldlines').addEventListener('click', () => {
  const pixels = toMnist($<HTMLCanvasElement>('pad'));
  if (pixels) requestWorldlines({ pixels });
});

function drawDiagram(v: WorldlineView): void {
  paintDigit($<HTMLCanvasElement>('wl-input'), v.pixels);
  const canvas = $<HTMLCanvasElement>('diagram');
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width, H = canvas.height, left = 96, right = 60, top = 30, bottom = 26;
  const L = v.layers.length - 1;
  const y = (l: number): number => H - bottom - (l / L) * (H - top - bottom);
  const x = (l: number, i: number): number => left + v.positions[l]![i]! * (W - left - right);
  ctx.clearRect(0, 0, W, H);
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#444';
  for (let l = 0; l <= L; l++) {
    ctx.fillText(l === 0 ? `sources ${v.layers[0]}` : l === L ? 'targets' : `hidden ${v.layers[l]}`, 6, y(l));
  }
  // the source row: one tick per pixel, shaded by its intensity
  for (let i = 0; i < v.layers[0]!; i++) {
    ctx.fillStyle = `rgba(0, 0, 0, ${(0.08 + 0.92 * Math.min(1, v.pixels[i]! / 255)).toFixed(3)})`;
    ctx.fillRect(x(0, i) - 0.5, y(0) - 7, 1.2, 14);
  }
  // routes into the targets, weighted by route probability
  const C = v.layers[L]!, nIn = v.layers[L - 1]!;
  for (let u = 0; u < nIn; u++) {
    for (let k = 0; k < C; k++) {
      ctx.strokeStyle = `rgba(120, 120, 120, ${Math.min(0.6, v.lastRoutes[u * C + k]! * 0.6 * C).toFixed(3)})`;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x(L - 1, u), y(L - 1));
      ctx.lineTo(x(L, k), y(L));
      ctx.stroke();
    }
  }
  for (let l = 1; l < L; l++) {
    ctx.fillStyle = '#888';
    for (let i = 0; i < v.layers[l]!; i++) ctx.fillRect(x(l, i) - 1.5, y(l) - 1.5, 3, 3);
  }
  // worldlines, weakest first so the strongest are on top
  const wmax = v.worldlines[0]?.weight ?? 1;
  for (const w of [...v.worldlines].reverse()) {
    const c = Math.cos(v.omega * (v.tStar - w.tau));
    ctx.strokeStyle = c >= 0 ? `rgba(232, 89, 12, ${(0.35 + 0.6 * c).toFixed(3)})` : `rgba(25, 113, 194, ${(0.35 - 0.6 * c).toFixed(3)})`;
    ctx.lineWidth = 0.6 + 5 * (w.weight / wmax);
    ctx.beginPath();
    w.sites.forEach((s, l) => (l === 0 ? ctx.moveTo(x(l, s), y(l)) : ctx.lineTo(x(l, s), y(l))));
    ctx.stroke();
  }
  for (let k = 0; k < C; k++) {
    const cx = x(L, k), cy = y(L), hit = k === v.predicted;
    ctx.fillStyle = hit ? '#e8590c' : '#fff';
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(cx, cy, 11, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = hit ? '#fff' : '#000';
    ctx.textAlign = 'center';
    ctx.fillText(String(v.classes[k]), cx, cy);
    ctx.fillStyle = '#444';
    ctx.fillText(`M=${v.moments[k]!.toFixed(3)}`, cx, cy - 20);
    ctx.textAlign = 'start';
  }
  const share = v.worldlines.reduce((s, w) => s + w.moment, 0);
  const paths = v.layers.slice(0, L).reduce((n, size) => n * size, 1) * v.durations ** L;
  $('wl-caption').textContent = `${v.digit === null ? 'drawn digit' : `digit ${v.digit}`}, predicted ${v.classes[v.predicted]} ` +
    `(P = ${v.proba[v.predicted]!.toFixed(3)}); the ${v.worldlines.length} strongest of ${paths.toLocaleString('en')} worldlines ` +
    `give ${share.toFixed(4)} of its moment M = ${v.moments[v.predicted]!.toFixed(4)}.`;
}

// ---------------------------------------------------------------- start

spawn();
setState('loading');
void loadSlice();
if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  // caches the page, the worker and the data, so a reload works offline (sw.js is written at build time)
  navigator.serviceWorker.register('./sw.js').catch(() => undefined);
}
