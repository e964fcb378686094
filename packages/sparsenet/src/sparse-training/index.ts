export * from './nm.js';
export * from './densities.js';
export * from './drop-grow.js';
export * from './dynamic-config.js';
export * from './dynamic.js';
