// Run by test/fuzz.test.ts as `node --expose-gc`: creates and disposes networks whose WebAssembly
// memory is about 10 MiB each (batch buffers for 32 768 examples), and prints, as one JSON line,
// the memory held outside the JS heap (process.memoryUsage().external, where V8 counts
// WebAssembly memories) after 20 disposed networks and, as a control, with 4 networks held.
import { InterferenceNetwork } from '../../dist/index.js';

const MiB = 2 ** 20;
const external = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return process.memoryUsage().external;
};
const options = { layers: [16, 8, 2], batchSize: 32768 };

const base = await external();
let perNetwork = 0, memoryBytesAfterDispose = -1;
const disposed = [];
for (let i = 0; i < 20; i++) {
  const net = await InterferenceNetwork.create(options);
  net.trainBatch(new Float32Array(32).fill(1), [0, 1]);
  perNetwork = net.memoryBytes;
  net.dispose();
  memoryBytesAfterDispose = net.memoryBytes;
  disposed.push(net); // still referenced: dispose() alone must let the memory go
}
const afterDisposed = await external();
const held = [];
for (let i = 0; i < 4; i++) held.push(await InterferenceNetwork.create(options));
const afterHeld = await external();
console.log(JSON.stringify({
  perNetworkMiB: perNetwork / MiB,
  disposedMiB: (afterDisposed - base) / MiB,
  heldMiB: (afterHeld - afterDisposed) / MiB,
  memoryBytesAfterDispose,
  kept: disposed.length + held.length,
}));
