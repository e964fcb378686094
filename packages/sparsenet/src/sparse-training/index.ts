export * from './nm.js';
export * from './densities.js';
export * from './drop-grow.js';
export * from './scoring.js';
export * from './snip.js';
export * from './grasp.js';
export * from './synflow.js';
