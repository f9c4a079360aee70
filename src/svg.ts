/**
 * Pictures of the space-time lattice (DESIGN.md §1, §3, §4) as standalone SVG text: the paper's
 * GPT-as-space-time-diagram for one input, and the target energy E(t) over one period. Ticks,
 * colour map and paths come from d3 (d3-array, d3-scale-chromatic, d3-shape; not d3-scale, whose
 * locale and time modules would double the browser bundle); this file only lays them out.
 * Browser-safe (returns a string).
 */
import { nice, ticks } from 'd3-array';
import { interpolateSinebow } from 'd3-scale-chromatic';
import { line } from 'd3-shape';
import { FfitError, check } from './errors.js';
import type { Images, InterferenceNetwork } from './network.js';
import { sitePositions } from './options.js';
import { describe, imageCount, sourceProblem } from './validate.js';
import { attentionEvents, energyOverPeriod, topWorldlines, type Worldline } from './worldlines.js';

/** Options of {@link spaceTimeSvg}. */
export interface DiagramOptions {
  /** The true class of the image (its field is drawn on the targets); default the predicted class. */
  label?: number;
  /** Worldlines drawn into each target (best first). Default 12. */
  perTarget?: number;
  /** Self-attention events ringed. Default 6. */
  events?: number;
  /** Class names for the targets (default 0 … C−1). */
  classNames?: readonly (string | number)[];
  /** Title line. */
  title?: string;
}

/** Colour of a phase φ (radians): a cyclic rainbow, so φ and φ + 2π look the same. */
export function phaseColour(phase: number): string {
  check(typeof phase === 'number' && Number.isFinite(phase), `phaseColour: the phase must be a finite number (radians); got ${describe(phase)}.`, 'E_INPUT');
  const t = (((phase + Math.PI) / (2 * Math.PI)) % 1 + 1) % 1;
  return interpolateSinebow(t);
}

/** The affine map of [d0, d1] onto [r0, r1] (a degenerate domain is widened by ±1). */
function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (!(d1 > d0)) [d0, d1] = [d0 - 1, d0 + 1];
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (x: number): string => (Math.round(x * 10) / 10).toString();

/**
 * The space-time diagram of one image as SVG (width 960 px): time (layers 0 … L) runs up, space
 * (site positions; sequence positions for `causal` lattices) runs across. Bottom row: the sources,
 * shaded by intensity. Hidden sites: dots sized by |a| and coloured by the phase of a. Lines: the
 * most probable worldlines into every target (a⁰ Π p ranking, {@link topWorldlines}), width ∝
 * their weight, colour = their phase −ωτ. Rings: the strongest self-attention events. Top row: the
 * targets with their field h (label +1, others −1/(C−1)) and moment M_k. Right: E(t) over one
 * period with t* marked (with ω = 0 a constant line: nothing oscillates). Throws `E_SHAPE` unless
 * `image` is one image, `E_INPUT` for an image that cannot be a source, `E_OPTION` for bad
 * options, `E_LABEL` for a bad label, `E_DISPOSED` after `dispose()`.
 */
export function spaceTimeSvg(net: InterferenceNetwork, image: Images, options: DiagramOptions = {}): string {
  const o = net.options, sizes = o.layers, L = sizes.length - 1, C = net.classes;
  check(imageCount(image, sizes[0]!) === 1, `image must hold ${sizes[0]} values (one image); got ${(image as ArrayLike<number>).length}.`, 'E_SHAPE');
  const problem = sourceProblem(image);
  if (problem !== null) throw new FfitError('E_INPUT', `The image cannot be a source: ${problem}.`);
  check(typeof options === 'object' && options !== null, `options must be an object (e.g. { label: 0 }); got ${describe(options)}.`);
  const { perTarget = 12, events: nEvents = 6 } = options;
  check(Number.isInteger(perTarget) && perTarget >= 1 && perTarget <= 1000, `perTarget must be an integer from 1 to 1000; got ${describe(perTarget)}.`);
  check(Number.isInteger(nEvents) && nEvents >= 0 && nEvents <= 1000, `events must be an integer from 0 to 1000; got ${describe(nEvents)}.`);
  check(options.classNames === undefined || (Array.isArray(options.classNames) && options.classNames.length === C),
    `classNames must list ${C} names, one per target; got ${describe(options.classNames)}.`);
  const names = options.classNames ?? Array.from({ length: C }, (_, k) => k);
  const predicted = net.predict(image)[0]!;
  const label = options.label ?? predicted;
  const moments = net.moments(image);
  const lines: Worldline[] = [];
  for (let k = 0; k < C; k++) lines.push(...topWorldlines(net, { target: k, image, k: perTarget }));
  const events = L > 1 && nEvents > 0 ? attentionEvents(net, image, nEvents) : [];
  const meetings = L > 1 ? net.meetings(image) : [];
  const cycle = energyOverPeriod(net, image, label, 128);

  const W = 960, H = 660, left = 70, right = 640, top = 118, bottom = H - 70;
  const y = linear(0, L, bottom, top);
  // x of a site: its position scaled over the layer's span; several sites at one sequence position spread within it
  const xs = sizes.map((n, l) => {
    const pos = sitePositions(o, l);
    const lo = Math.min(...pos), hi = Math.max(...pos);
    if (l === L) return Array.from({ length: n }, (_, k) => left + ((k + 0.5) / n) * (right - left));
    if (o.sequence > 0) {
      const per = n / o.sequence, S = o.sequence;
      return pos.map((p, i) => left + ((p + ((i % per) + 0.5) / per) / S) * (right - left));
    }
    const sx = linear(lo, hi, left + 4, right - 4);
    return pos.map((p) => sx(p));
  });
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fcfcfa"/>`);
  const title = options.title ?? `ffit space-time diagram: ${sizes.join('→')} ${o.topology}, D=${o.durations}; predicted ${names[predicted]}, label ${names[label]}`;
  out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="44" fill="#555">time ↑ (layers), space → (site positions); worldline width ∝ a⁰·Πp, colour = phase −ωτ; dots: |a| and phase of each site</text>`);

  // sequence positions as faint bands: the light-cone structure of a causal lattice
  if (o.sequence > 0) {
    for (let s = 0; s < o.sequence; s += 2) {
      const x0 = left + (s / o.sequence) * (right - left), w = (right - left) / o.sequence;
      out.push(`<rect x="${f(x0)}" y="${f(y(L - 1) - 12)}" width="${f(w)}" height="${f(bottom - y(L - 1) + 24)}" fill="#eef1f6"/>`);
    }
  }
  // layer axis
  for (let l = 0; l <= L; l++) {
    const name = l === 0 ? 'sources' : l === L ? 'targets' : `layer ${l}`;
    out.push(`<text x="${left - 8}" y="${f(y(l) + 4)}" text-anchor="end" fill="#333">${name}</text>`);
    out.push(`<line x1="${left}" x2="${right}" y1="${f(y(l))}" y2="${f(y(l))}" stroke="#ddd"/>`);
  }
  // sources: the image as a strip of intensities
  let peak = 0;
  for (let i = 0; i < sizes[0]!; i++) peak = Math.max(peak, Number(image[i]));
  const cell = Math.max(1, (right - left) / sizes[0]!);
  for (let i = 0; i < sizes[0]!; i++) {
    const v = Number(image[i]) / (peak || 1);
    if (v <= 0) continue;
    out.push(`<rect x="${f(xs[0]![i]! - cell / 2)}" y="${f(y(0) - 6)}" width="${f(cell)}" height="12" fill="#000" fill-opacity="${(0.15 + 0.85 * v).toFixed(2)}"/>`);
  }
  // worldlines, thinnest first so the strongest sit on top
  const wmax = Math.max(...lines.map((w) => w.weight), 1e-300);
  lines.sort((a, b) => a.weight - b.weight);
  for (const w of lines) {
    const pts = w.sites.map((s, l) => `${f(xs[l]![s]!)},${f(y(l))}`).join(' ');
    const width = 0.4 + 5.6 * Math.sqrt(w.weight / wmax);
    out.push(`<polyline points="${pts}" fill="none" stroke="${phaseColour(w.phase)}" stroke-width="${width.toFixed(2)}" stroke-opacity="0.75" stroke-linejoin="round"/>`);
  }
  // hidden sites: size by |a| (relative within the layer), colour by phase
  for (const m of meetings) {
    let amax = 0;
    for (let v = 0; v < m.re.length; v++) amax = Math.max(amax, Math.hypot(m.re[v]!, m.im[v]!));
    for (let v = 0; v < m.re.length; v++) {
      const r = 0.8 + 3.2 * Math.sqrt(Math.hypot(m.re[v]!, m.im[v]!) / (amax || 1));
      out.push(`<circle cx="${f(xs[m.layer]![v]!)}" cy="${f(y(m.layer))}" r="${r.toFixed(2)}" fill="${phaseColour(Math.atan2(m.im[v]!, m.re[v]!))}" stroke="#333" stroke-width="0.3"/>`);
    }
  }
  for (const e of events) {
    out.push(`<circle cx="${f(xs[e.layer]![e.site]!)}" cy="${f(y(e.layer))}" r="9" fill="none" stroke="#d62728" stroke-width="1.5" stroke-dasharray="3 2"><title>self-attention event: layer ${e.layer}, site ${e.site}, ${e.sources} sources meet, interaction energy ${e.interaction.toExponential(2)}</title></circle>`);
  }
  // targets: field h and moment M
  const mmax = Math.max(...Array.from(moments, Math.abs), 1e-12);
  for (let k = 0; k < C; k++) {
    const x = xs[L]![k]!, h = k === label ? 1 : -1 / (C - 1), m = moments[k]!;
    const colour = h > 0 ? '#d62728' : '#1f77b4';
    out.push(`<rect x="${f(x - 16)}" y="${f(y(L) - 10)}" width="32" height="20" rx="4" fill="${colour}" fill-opacity="${h > 0 ? 0.25 : 0.12}" stroke="${colour}" stroke-width="${k === predicted ? 2.5 : 1}"/>`);
    out.push(`<text x="${f(x)}" y="${f(y(L) + 4)}" text-anchor="middle" font-weight="bold">${esc(String(names[k]))}</text>`);
    out.push(`<text x="${f(x)}" y="${f(y(L) - 16)}" text-anchor="middle" fill="${colour}">h=${h > 0 ? '+1' : `−1/${C - 1}`}</text>`);
    const bar = 22 * (m / mmax);
    out.push(`<rect x="${f(x + 19)}" y="${f(y(L) - Math.max(bar, 0))}" width="5" height="${f(Math.abs(bar))}" fill="${m >= 0 ? '#2ca02c' : '#999'}"><title>M=${m.toExponential(3)}</title></rect>`);
  }
  out.push(`<text x="${left}" y="64" fill="#555">targets: field h (red: the label, +1; blue: −1/(C−1)); green bar: moment M_k at t*; thick border: the prediction</text>`);

  // phase legend
  const lg = 'phase';
  out.push(`<defs><linearGradient id="${lg}">${Array.from({ length: 13 }, (_, i) => `<stop offset="${(i / 12).toFixed(3)}" stop-color="${phaseColour(-Math.PI + (2 * Math.PI * i) / 12)}"/>`).join('')}</linearGradient></defs>`);
  out.push(`<rect x="${left}" y="${H - 30}" width="200" height="10" fill="url(#${lg})"/>`);
  out.push(`<text x="${left}" y="${H - 36}" fill="#333">phase −ωτ (radians)</text>`);
  out.push(`<text x="${left}" y="${H - 8}" fill="#333">−π</text><text x="${left + 100}" y="${H - 8}" text-anchor="middle" fill="#333">0</text><text x="${left + 200}" y="${H - 8}" text-anchor="end" fill="#333">π</text>`);
  out.push(`<circle cx="${left + 250}" cy="${H - 25}" r="7" fill="none" stroke="#d62728" stroke-width="1.5" stroke-dasharray="3 2"/><text x="${left + 262}" y="${H - 21}" fill="#333">strongest self-attention events (worldlines from many sources meet)</text>`);

  // E(t) over one period
  out.push(energyPanel(cycle, net.options.tStar, 712, 150, 220, 180));
  out.push('</svg>');
  return out.join('\n');
}

/** The E(t) panel: a line over one period at (x, y) of size w × h, t* marked (ω = 0: a constant line over the sampled window). */
function energyPanel(cycle: ReturnType<typeof energyOverPeriod>, tStar: number, x: number, y: number, w: number, h: number): string {
  const e = Array.from(cycle.energy);
  const lo = Math.min(...e), hi = Math.max(...e);
  const periodic = Number.isFinite(cycle.period);
  const sx = linear(0, cycle.window, x, x + w);
  const [y0, y1] = hi > lo ? nice(lo, hi, 4) : [lo - 1, lo + 1];
  const sy = linear(y0, y1, y + h, y);
  const path = line<number>().x((_, i) => sx(cycle.t[i]!)).y((v) => sy(v))(e) ?? '';
  const out: string[] = [];
  out.push(`<text x="${x}" y="${y - 24}" font-size="13" font-weight="bold">${periodic ? 'target energy E(t) over one period' : 'target energy E(t): constant (ω = 0)'}</text>`);
  out.push(`<text x="${x}" y="${y - 8}" fill="#555">E = −Σ h M(t) − (J/2) Σ M(t)², h of label ${cycle.label}</text>`);
  out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#bbb"/>`);
  for (const t of ticks(y0, y1, 4)) {
    out.push(`<line x1="${x}" x2="${x + w}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#eee"/><text x="${x - 4}" y="${f(sy(t) + 4)}" text-anchor="end" font-size="10" fill="#555">${t === 0 ? '0' : t.toExponential(1)}</text>`);
  }
  for (const t of ticks(0, cycle.window, 4)) out.push(`<text x="${f(sx(t))}" y="${y + h + 14}" text-anchor="middle" font-size="10" fill="#555">${t}</text>`);
  out.push(`<text x="${x + w / 2}" y="${y + h + 30}" text-anchor="middle" fill="#333">${periodic ? 't (ticks)' : 't (ticks; no oscillation at ω = 0)'}</text>`);
  out.push(`<path d="${path}" fill="none" stroke="#9467bd" stroke-width="2"/>`);
  if (periodic) {
    const ts = ((tStar % cycle.period) + cycle.period) % cycle.period;
    out.push(`<line x1="${f(sx(ts))}" x2="${f(sx(ts))}" y1="${y}" y2="${y + h}" stroke="#d62728" stroke-dasharray="4 3"/><text x="${f(sx(ts) + 4)}" y="${y + 12}" fill="#d62728" font-size="11">t*</text>`);
  }
  return out.join('\n');
}
