// The twin of the bench's thread comparison (bench/run.mjs, section 6): a one-thread network of
// the same lattice on a worker thread of its own, trained one epoch each time the main thread says
// go, while the main thread trains its own one-thread network. Two independent trainers, one per
// core, measure what the two cores give at that moment: the ceiling of any two-thread speed-up.
import { parentPort, workerData } from 'node:worker_threads';
import { InterferenceNetwork } from '../dist/node.js';

const { layers, D, batch, images, labels, warm, go } = workerData;
const flag = new Int32Array(go);
const net = await InterferenceNetwork.create({ layers, durations: D, batchSize: batch, seed: 0, threads: 1 });
net.fit({ images, labels }, { epochs: warm });
parentPort.postMessage({ ready: true });
for (let seen = 0; ;) {
  Atomics.wait(flag, 0, seen);
  seen = Atomics.load(flag, 0);
  if (seen < 0) break;
  parentPort.postMessage({ seconds: net.fit({ images, labels }, { epochs: 1 })[0].seconds });
}
net.dispose();
