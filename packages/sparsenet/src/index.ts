export * from './prune/index.js';
export * from './data/index.js';
export * from './model.js';
export * from './train/config.js';
export * from './train/metrics.js';
export * from './train/evaluate.js';
export * from './train/checkpoint.js';
export * from './train/run-files.js';
export { train, type TrainResult, type TrainHooks } from './train/trainer.js';
