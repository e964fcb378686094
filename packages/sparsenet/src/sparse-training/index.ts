export * from './nm.js';
export * from './densities.js';
export * from './drop-grow.js';
