export { withMasks, type LayerMasks, type PrunableLayer } from './types.js';
export * from './unstructured.js';
export * from './structured.js';
export * from './flops.js';
export * from './sparsity.js';
export * from './compact.js';
export * from './schedule.js';
export * from './rewind.js';
export * from './masks.js';
