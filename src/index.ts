/**
 * ffit: feed-forward induced interference training (arXiv:2008.11111) on a space-time lattice,
 * with WebAssembly SIMD kernels. This entry point is browser-safe (no `fs`, no `process`); the
 * Node-only helpers (MNIST from disk, atomic model files) are in `ffit/node`.
 */
export { InterferenceNetwork } from './network.js';
export type {
  BatchMetrics, EpochRecord, Evaluation, FitOptions, Images, LabelledSet, Labels, ModelJSON, ModelJSONv1, RuntimeChoice, Schedule,
} from './network.js';
export { defaults, INIT_SCALE_MIN, LIMITS, resolveOptions, sitePositions } from './options.js';
export { buildRoutes, connected } from './topology.js';
export type { RouteTable } from './topology.js';
export type { FfitOptions, Objective, ResolvedOptions, Response, Topology } from './options.js';
export { BACKENDS, createBackend, resolveBackend, simdSupported } from './backend/index.js';
export type { Backend, BackendChoice, BackendName } from './backend/index.js';
export { FFIT_ERROR_CODES, FfitError } from './errors.js';
export { decodeModel, encodeModel, LOGITS_ENCODING, MODEL_FORMAT, MODEL_VERSION, MODEL_VERSIONS_READ } from './model-format.js';
export type { DecodedModel, LayerLogits, LogitsJSON, ModelContent, ModelOptions } from './model-format.js';
export type { FfitErrorCode } from './errors.js';
export { Rng } from './rng.js';
export { encodeIdx, parseIdx, parseImages, parseLabels } from './data/idx.js';
export type { IdxArray, IdxImages, IdxLabels } from './data/idx.js';
export { fromIdx, indicesOf, sampleShots, selectClasses, splitValidation, subset } from './data/dataset.js';
export type { Dataset } from './data/dataset.js';
export { attentionEvents, countWorldlines, energyOverPeriod, topWorldlines } from './worldlines.js';
export type { AttentionEvent, EnergyCycle, SiteRef, TopOptions, Worldline } from './worldlines.js';
export { phaseColour, spaceTimeSvg } from './svg.js';
export type { DiagramOptions } from './svg.js';
export { toTokens, tokenizer } from './data/tokens.js';
export type { TokenMode, Tokenizer } from './data/tokens.js';
