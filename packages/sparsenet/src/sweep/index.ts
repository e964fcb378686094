export * from './grid.js';
export * from './config.js';
export * from './measure.js';
export * from './table.js';
export * from './parts.js';
export * from './run.js';
export * from './shard-env.js';
export * from './unit-lock.js';
