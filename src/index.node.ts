/**
 * The `ffit` entry point in Node (package.json `exports["."].node`): everything of src/index.ts,
 * plus worker threads for `threads` > 1. Browsers get src/index.ts itself.
 */
import './node/threads.js';

export * from './index.js';
