/**
 * WebGPU's flag values (fixed by the spec). Dawn in Node defines the GPUBufferUsage globals only once a
 * device module is loaded, so module-level code uses these instead.
 */
export const BufferUsage = { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128, INDIRECT: 256, QUERY_RESOLVE: 512 } as const;
export const ShaderStage = { COMPUTE: 4 } as const;
export const MapMode = { READ: 1 } as const;
