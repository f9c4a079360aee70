/** Messages between the page (main.ts) and the training worker (worker.ts). */
import type { EpochRecord } from 'ffit';
import type { ProgressPoint, RunResult, TrainConfig } from './run.js';
import type { Worldline } from './worldlines.js';

/** Which example to draw worldlines for: a test-set index or pixels drawn on the pad. */
export type ExampleRef = { test: number } | { pixels: Float32Array };

export type ToWorker =
  | { type: 'data'; source: string; files: { name: string; bytes: ArrayBuffer }[] }
  | { type: 'train'; config: TrainConfig }
  | { type: 'predict'; id: number; pixels: Float32Array }
  | { type: 'worldlines'; id: number; example: ExampleRef; count: number };

/** A worldline picture: the example, what the network answers and the routes it rides on. */
export interface WorldlineView {
  pixels: Float32Array;
  /** The example's digit when it came from the test set. */
  digit: number | null;
  /** Target index (0 … C−1) that the network predicts, and the digits of the targets. */
  predicted: number;
  classes: number[];
  proba: number[];
  moments: number[];
  layers: number[];
  /** Site positions per layer in [0, 1]. */
  positions: number[][];
  /** ω (radians per tick) and t* (ticks): a worldline's phase is ω (t* − τ). */
  omega: number;
  tStar: number;
  /** Durations per route D. */
  durations: number;
  worldlines: Worldline[];
  /** Σ_d p(u → k, d) of the last layer, `N_{L−1} × C`: how the routes into the targets are weighted. */
  lastRoutes: Float32Array;
  testCount: number;
}

export type FromWorker =
  | { type: 'ready'; simd: boolean; wasm: boolean }
  | { type: 'data'; source: string; trainCount: number; testCount: number | null; digits: number[] }
  | { type: 'started'; backend: string; lattice: number[]; trainCount: number; testCount: number }
  | { type: 'progress'; point: ProgressPoint }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'done'; result: RunResult }
  | { type: 'prediction'; id: number; predicted: number; proba: number[]; classes: number[] }
  | ({ type: 'worldlines'; id: number } & WorldlineView)
  | { type: 'error'; during: string; message: string; code: string | null };
