/**
 * Worker threads for `threads` > 1 in Node: registers a `worker_threads` spawner with the thread
 * pool (src/parallel/pool.ts). Imported for its effect by the Node entry points (`ffit` in Node,
 * `ffit/node`, the CLI), so the browser bundle holds no Node API.
 */
import { Worker } from 'node:worker_threads';
import { setThreadSpawner } from '../parallel/pool.js';

setThreadSpawner((body, data) => {
  // an eval worker is a CommonJS script: workerData comes through require
  const worker = new Worker(`const DATA = require('node:worker_threads').workerData;\n${body}`, { eval: true, workerData: data });
  worker.unref(); // an idle pool never keeps the process alive
  return worker;
});
