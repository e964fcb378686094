/**
 * Running a model's own forward once in evaluation mode with some modules' forward replaced: how the layer graph
 * is traced (every module noting the tensors it made) and how SparseModel runs its layers on the sparse kernels.
 * The modules' own forward and every module's mode are back in place afterwards, whatever happens.
 */
import type { nn, Tensor } from '@sparsenet/tensor';

/** A module's replacement forward; `forward` is the module's own. */
export type ForwardOverride = (x: Tensor, forward: (x: Tensor) => Tensor) => Tensor;

export function evaluateWith<T>(model: nn.Module, override: (path: string, module: nn.Module) => ForwardOverride | undefined, run: () => T): T {
  const modules = model.namedModules();
  const training = modules.map(([, module]) => module.training);
  const patched: nn.Module[] = [];
  try {
    model.eval();
    for (const [path, module] of modules) {
      const replacement = override(path, module);
      if (!replacement) continue;
      const forward = module.forward;
      // An own property shadows the class's forward until it is deleted below.
      module.forward = (x: Tensor) => replacement(x, (h) => forward.call(module, h));
      patched.push(module);
    }
    return run();
  } finally {
    for (const module of patched) delete (module as { forward?: unknown }).forward;
    modules.forEach(([, module], i) => (module.training = training[i]));
  }
}
