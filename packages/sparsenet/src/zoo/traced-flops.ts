/**
 * FLOPs per image of any model, counted from one forward of a single image: each nn.Conv2d and nn.Linear it
 * runs adds 2 x multiply-adds at its actual output size (as prune/flops.ts counts LeNet's; BatchNorm, ReLU,
 * pooling and adds are not counted). Training is the forward, the weight gradients (as many FLOPs again) and
 * the input gradients of every layer but the first (the image needs none): LeNet's 7.2 and 18.2 MFLOP. Layers
 * called through their module's forward only (LeNet calls its ops directly: use prune/flops.ts for it).
 */
import { nn, noGrad, scoped, tensor, type Tensor } from '@sparsenet/tensor';

export async function tracedFlops(model: nn.Module, imageSize: number): Promise<{ forward: number; training: number; layers: number }> {
  const perLayer: number[] = [];
  const layers = model.namedModules().map(([, m]) => m).filter((m): m is nn.Conv2d | nn.Linear => m instanceof nn.Conv2d || m instanceof nn.Linear);
  for (const layer of layers) {
    const forward = layer.forward;
    // An own property shadows the class's forward for this one pass.
    layer.forward = (x: Tensor) => {
      const y = forward.call(layer, x);
      perLayer.push(2 * layer.weight.size * (y.shape.length === 4 ? y.shape[2] * y.shape[3] : 1));
      return y;
    };
  }
  const wasTraining = model.training;
  try {
    model.eval();
    await scoped(async () => noGrad(() => model.forward(tensor(new Float32Array(3 * imageSize * imageSize), [1, 3, imageSize, imageSize]))));
  } finally {
    for (const layer of layers) delete (layer as { forward?: unknown }).forward;
    model.train(wasTraining);
  }
  if (!perLayer.length) throw new Error(`tracedFlops: ${model.constructor.name} ran no nn.Conv2d or nn.Linear module (it calls its ops directly?)`);
  const forward = perLayer.reduce((a, b) => a + b, 0);
  return { forward, training: 3 * forward - perLayer[0], layers: perLayer.length };
}
