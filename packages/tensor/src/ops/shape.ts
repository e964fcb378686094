/** Shape ops. reshape and flatten share the input's storage (no copy); transpose2d copies. */
import * as k from '@sparsenet/kernels-wgsl';
import { record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { empty, numel, Tensor, type Shape } from '../tensor.js';

export function reshape(x: Tensor, shape: Shape): Tensor {
  const dims = [...shape];
  const free = dims.indexOf(-1);
  if (free >= 0) dims[free] = x.size / numel(dims.filter((_, i) => i !== free));
  if (numel(dims) !== x.size || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot view [${x.shape}] (${x.size} elements) as [${shape}]`);
  }
  const out = new Tensor(x.storage.retain(), dims, x.dtype, `reshape([${x.shape}] -> [${dims}])`);
  return record(out, [x], (g) => [reshape(g, x.shape)]);
}

/** [N, ...] -> [N, prod(...)] as PyTorch's torch.flatten(x, 1). */
export function flatten(x: Tensor): Tensor {
  if (x.shape.length < 1) throw new Error(`flatten: needs at least one dimension, got [${x.shape}]`);
  return reshape(x, [x.shape[0], -1]);
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(x: Tensor): Tensor {
  if (x.shape.length !== 2) throw new Error(`transpose: needs a 2-D tensor, got [${x.shape}]`);
  const [rows, cols] = x.shape;
  const out = empty([cols, rows], x.dtype, `transpose([${x.shape}])`);
  k.transpose(runtime().runner, x.buffer, out.buffer, rows, cols);
  return record(out, [x], (g) => [transpose(g)]);
}
