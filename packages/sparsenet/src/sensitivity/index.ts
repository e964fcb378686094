export * from './measure.js';
export * from './plan.js';
export * from './plan-file.js';
export * from './table.js';
export { sensitivityCommand } from './command.js';
