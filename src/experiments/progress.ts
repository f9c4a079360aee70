/**
 * One progress bar across a whole experiment (cli-progress): what runs now (phase, method, seed,
 * shots) and the ETA of everything left. Work is counted in *units* that track time on this
 * machine: one per update (the per-batch cost of both FFIT's refresh and a TensorFlow.js step
 * dominates) plus one per 40 training examples and one per 100 evaluated examples.
 */
import cliProgress from 'cli-progress';

/** What the bar shows next to the ETA. */
export interface Task {
  phase: string;
  method: string;
  seed: number | string;
  shots: number | string;
}

/** Work units of training `examples` in `updates` updates. */
export const trainUnits = (updates: number, examples: number): number => updates + examples / 40;
/** Work units of evaluating `examples`. */
export const evalUnits = (examples: number): number => examples / 100;

/** Progress of an experiment; silent when `enabled` is false or stderr is not a terminal. */
export class ExperimentProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private total = 0;
  private value = 0;
  private task: Task = { phase: '', method: '', seed: '', shots: '' };
  private lastDraw = 0;
  private started = false;

  constructor(readonly experiment: string, enabled: boolean) {
    this.bar = enabled && process.stderr.isTTY
      ? new cliProgress.SingleBar({
        format: `${experiment} |{bar}| {percentage}% | ETA {eta_formatted} | {phase} {method} seed {seed} shots {shots}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 100,
        fps: 5,
      }, cliProgress.Presets.shades_classic)
      : null;
  }

  /** Adds `units` of planned work (the total may grow once the selected hyperparameters are known). */
  plan(units: number): void {
    this.total += units;
    if (this.started) this.bar?.setTotal(Math.max(1, Math.round(this.total)));
  }

  /** Names the work that follows. */
  set(task: Partial<Task>): void {
    this.task = { ...this.task, ...task };
    this.draw(true);
  }

  /** Marks `units` of work as done. */
  advance(units: number): void {
    this.value += units;
    this.draw(false);
  }

  private draw(force: boolean): void {
    if (!this.bar) return;
    if (!this.started) {
      this.bar.start(Math.max(1, Math.round(this.total)), 0, this.task);
      this.started = true;
    }
    const now = performance.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    this.bar.update(Math.min(Math.round(this.value), Math.round(this.total)), this.task);
  }

  /** Removes the bar. */
  stop(): void {
    if (this.started) this.bar?.stop();
    this.started = false;
  }
}
