import type { Backend, Complex, F32, I32, LearnStep } from './types.js';

/**
 * {@link Backend.loadForward} of a backend that has nothing to fuse: `load`, then (when every
 * image is a valid source) `forward` of the first layer. Returns what `load` returns.
 */
export function loadThenForward(
  be: Backend, images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32, w: Complex, nOut: number, z: Complex,
): number {
  const bad = be.load(images, bytes, rows, count, n, x, a);
  if (bad < 0) be.forward(a, null, count, n, w, nOut, z);
  return bad;
}

/** {@link Backend.learnLayers} of a backend that runs the steps one after another. */
export function learnInTurn(be: Backend, steps: readonly LearnStep[]): void {
  for (const s of steps) {
    be.learn(s.aRe, s.aIm, s.batch, s.nIn, s.gamma, s.nOut, s.theta, s.prob, s.w, s.rot, s.D, s.cosD, s.sinD, s.cosT, s.sinT, s.scale, s.settled);
  }
}
