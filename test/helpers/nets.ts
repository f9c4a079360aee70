import { InterferenceNetwork } from '../../src/network.js';
import type { FfitOptions } from '../../src/options.js';
import { testRandom } from './oracle.js';

/** Every backend, so one suite runs on all of them (tfjs's ALL_ENVS idea). */
export const BACKENDS = ['simd', 'scalar', 'js'] as const;

/** Random non-negative images (`count × n`, about a third of the values zero, like sparse pixels) and labels. */
export function randomData(seed: number, count: number, n: number, C: number): { images: Float32Array; labels: Int32Array } {
  const rnd = testRandom(seed);
  const images = new Float32Array(count * n).map(() => (rnd() < 0.35 ? 0 : rnd()));
  for (let b = 0; b < count; b++) images[b * n] = 0.5 + rnd(); // never an all-zero row
  const labels = Int32Array.from({ length: count }, () => Math.floor(rnd() * C));
  return { images, labels };
}

/** One network per backend from the same options (same seed, so the same initial logits). */
export async function perBackend(options: FfitOptions): Promise<InterferenceNetwork[]> {
  return Promise.all(BACKENDS.map((backend) => InterferenceNetwork.create({ ...options, backend })));
}
