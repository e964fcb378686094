export { getDevice, runtime } from './runtime.js';
export { getDeviceInfo, type AdapterChoice, type DeviceInfo } from './device.js';
export { Tensor, tensor, empty, numel, type DType, type Shape } from './tensor.js';
export { noGrad, isGradEnabled } from './autograd.js';
export { beginScope, scoped, untrack, memory, Scope } from './memory.js';
export type { MemoryCounters } from './pool.js';
export * from './ops/elementwise.js';
export * from './ops/shape.js';
export { Random } from './random.js';
