/**
 * The experiments' figures: Vega-Lite specifications compiled by `vega-lite` and rendered to SVG
 * by `vega` headless in Node (renderer `none`, no canvas needed). Each function takes plain rows
 * and returns the SVG text; axes carry units, colours carry a legend, spreads are drawn as
 * bands or error bars of ± one standard deviation over seeds.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Colours and names of the methods, the same in every figure. */
const METHOD_SCALE = {
  domain: ['FFIT', 'backprop MLP', 'logistic regression', 'FFIT − backprop MLP', 'FFIT − logistic regression'],
  range: ['#d62728', '#1f77b4', '#7f7f7f', '#1f77b4', '#7f7f7f'],
};
/** Colour encoding of `method`, with only the methods present in `rows` in the legend. */
const colorBy = (rows: readonly { method: string }[], title = 'method') => {
  const present = new Set(rows.map((r) => r.method));
  const domain = METHOD_SCALE.domain.filter((m) => present.has(m));
  const extra = [...present].filter((m) => !METHOD_SCALE.domain.includes(m));
  const range = domain.map((m) => METHOD_SCALE.range[METHOD_SCALE.domain.indexOf(m)]!);
  return {
    field: 'method', type: 'nominal' as const, title, legend: { labelLimit: 300 },
    scale: extra.length ? undefined : { domain, range },
  };
};
const CONFIG = { font: 'sans-serif', view: { stroke: null }, axis: { grid: true, gridOpacity: 0.5 } };

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : svg + '\n';
  } finally {
    view.finalize();
  }
}

/** A point with a mean and a ± std band. */
export interface BandRow {
  method: string;
  x: number;
  mean: number;
  std: number;
}

function bandRows(rows: readonly BandRow[], clamp01: boolean) {
  const c = (v: number) => (clamp01 ? Math.min(1, Math.max(0, v)) : v);
  return rows.map((r) => ({ ...r, lo: c(r.mean - r.std), hi: c(r.mean + r.std) }));
}

/** Line plot of `mean` against `x` per method with a ± std band. */
export function bandPlot(rows: readonly BandRow[], o: {
  title: string; x: string; y: string; logX?: boolean; percent?: boolean; xTicks?: number[]; xLabels?: Record<number, string>;
  zeroY?: boolean; points?: boolean; subtitle?: string;
  /** Clamp the band to [0, 1] (default: when `percent`). */
  clamp?: boolean;
  /** Draw a horizontal rule at y = 0 (for differences). */
  zeroRule?: boolean;
  /** Legend title (default `method`). */
  legend?: string;
}): Promise<string> {
  const values = bandRows(rows, o.clamp ?? !!o.percent);
  const labelExpr = o.xLabels
    ? Object.entries(o.xLabels).reduce((acc, [v, label]) => `datum.value == ${v} ? '${label}' : ${acc}`, 'datum.label')
    : undefined;
  const x = {
    field: 'x', type: 'quantitative' as const, title: o.x,
    scale: o.logX ? { type: 'log' as const } : { zero: false },
    axis: { ...(o.xTicks ? { values: o.xTicks } : {}), ...(labelExpr ? { labelExpr } : {}) },
  };
  const yAxis = o.percent ? { format: '.0%' } : {};
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: o.title, subtitle: o.subtitle ?? 'line: mean over seeds; band: ± 1 standard deviation' },
    width: 560,
    height: 320,
    config: CONFIG,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: o.zeroY ?? false } }, y2: { field: 'hi' }, color: colorBy(rows, o.legend) },
      },
      ...(o.zeroRule ? [{ data: { values: [{ zero: 0 }] }, mark: { type: 'rule' as const, color: 'black', strokeDash: [4, 3] }, encoding: { y: { field: 'zero', type: 'quantitative' as const } } }] : []),
      {
        mark: { type: 'line', point: o.points ?? true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: o.y, axis: yAxis, scale: { zero: o.zeroY ?? false } },
          color: colorBy(rows, o.legend),
          tooltip: [{ field: 'method' }, { field: 'x' }, { field: 'mean', format: '.4f' }, { field: 'std', format: '.4f' }],
        },
      },
    ],
  };
  return renderSvg(spec);
}

const BAR_SUBTITLE = 'bar: mean over seeds; error bar: ± 1 standard deviation';

/** A bar with an error bar: `group` on the x axis, one bar per method inside it. */
export interface BarRow {
  method: string;
  group: string;
  facet?: string;
  mean: number;
  std: number;
}

/** Grouped bar chart of means with ± std error bars, optionally faceted in columns. */
export function groupedBars(rows: readonly BarRow[], o: { title: string; x: string; y: string; facet?: string; groups?: string[]; facets?: string[] }): Promise<string> {
  const values = rows.map((r) => ({ ...r, lo: Math.max(0, r.mean - r.std), hi: Math.min(1, r.mean + r.std) }));
  const layer = {
    layer: [
      {
        mark: { type: 'bar' as const },
        encoding: {
          x: { field: 'group', type: 'nominal' as const, title: o.x, sort: o.groups ?? null, axis: { labelAngle: 0, labelLimit: 240 } },
          xOffset: { field: 'method', type: 'nominal' as const, sort: METHOD_SCALE.domain },
          y: { field: 'mean', type: 'quantitative' as const, title: o.y, axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: colorBy(rows),
          tooltip: [{ field: 'method' }, { field: 'group' }, { field: 'mean', format: '.4f' }, { field: 'std', format: '.4f' }],
        },
      },
      {
        mark: { type: 'rule' as const, color: 'black' },
        encoding: {
          x: { field: 'group', type: 'nominal' as const, sort: o.groups ?? null },
          xOffset: { field: 'method', type: 'nominal' as const, sort: METHOD_SCALE.domain },
          y: { field: 'lo', type: 'quantitative' as const },
          y2: { field: 'hi' },
        },
      },
    ],
  };
  const spec: TopLevelSpec = o.facet
    ? {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: o.title, subtitle: BAR_SUBTITLE }, config: CONFIG, data: { values },
      facet: { column: { field: 'facet', type: 'nominal', title: o.facet, sort: o.facets ?? null } },
      spec: { width: 220, height: 260, ...layer },
    }
    : { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: { text: o.title, subtitle: BAR_SUBTITLE }, config: CONFIG, data: { values }, width: 520, height: 300, ...layer };
  return renderSvg(spec);
}

/** One cell of a confusion matrix. */
export interface ConfusionCell {
  method: string;
  facet: string;
  truth: string;
  predicted: string;
  count: number;
  /** count / examples of that true class, in [0, 1]. */
  rate: number;
}

/** Confusion matrices as heat maps: rows of the grid = methods, columns = `facet` (e.g. shots). */
export function confusionGrid(cells: readonly ConfusionCell[], o: { title: string; facet: string; facets: string[]; methods: string[] }): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    config: CONFIG,
    data: { values: cells.map((c) => ({ ...c })) },
    facet: {
      row: { field: 'method', type: 'nominal', title: 'method', sort: o.methods },
      column: { field: 'facet', type: 'nominal', title: o.facet, sort: o.facets },
    },
    spec: {
      width: 150,
      height: 150,
      layer: [
        {
          mark: 'rect',
          encoding: {
            x: { field: 'predicted', type: 'ordinal', title: 'predicted digit' },
            y: { field: 'truth', type: 'ordinal', title: 'true digit' },
            color: { field: 'rate', type: 'quantitative', title: 'fraction of true digit', scale: { domain: [0, 1], scheme: 'blues' } },
          },
        },
        {
          mark: { type: 'text', fontSize: 10 },
          encoding: {
            x: { field: 'predicted', type: 'ordinal' },
            y: { field: 'truth', type: 'ordinal' },
            text: { field: 'rate', type: 'quantitative', format: '.0%' },
            color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  };
  return renderSvg(spec);
}
