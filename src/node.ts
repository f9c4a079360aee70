/** Node-only helpers of ffit: MNIST and IDX directories from disk, atomic model files, worker threads. */
import './node/threads.js';

export { loadIdxDir, loadMnist, MNIST_FILES, resolveMnistDir } from './data/mnist.js';
export { loadModel, saveModel } from './node/model-file.js';
export { MAX_TEXT_FILE_BYTES, MAX_BINARY_FILE_BYTES } from './node/read-file.js';
export * from './index.js';
