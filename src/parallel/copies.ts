/**
 * Most floats of one worker's copy of the induced field Γ (4 MiB): a larger Γ (a huge batch of a
 * wide layer) is read from the calling thread instead, so that the copies never decide how large
 * a batch fits in memory (the forward parts do).
 */
export const MAX_COPY_SLOT = 1 << 20;

/**
 * Floats of one worker's copy of Γ for a batch of `batch` examples of a layer of `nOut` sites
 * (batch × nOut complex, rounded up to whole 64-byte cache lines), or 0 above
 * {@link MAX_COPY_SLOT}. Used by the parallel backend and by the network's memory estimate.
 */
export function gammaCopySlot(batch: number, nOut: number): number {
  const slot = 16 * Math.ceil((2 * batch * nOut) / 16);
  return slot <= MAX_COPY_SLOT ? slot : 0;
}
