/**
 * Global average pooling, [N, C, H, W] -> [N, C, 1, 1], as torch.nn.AdaptiveAvgPool2d(1), composed of existing
 * ops (a matmul with a column of 1 / (H W)) until the ops branch's nn.AdaptiveAvgPool2d lands; then the zoo
 * uses that module under the same name `avgpool` and this file goes.
 */
import { matmul, nn, reshape, tensor, type Tensor } from '@sparsenet/tensor';

export class GlobalAvgPool2d extends nn.Module {
  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4) throw new Error(`GlobalAvgPool2d: input [${x.shape}] is not [N, C, H, W]`);
    const [n, c, h, w] = x.shape;
    const column = tensor(new Float32Array(h * w).fill(1 / (h * w)), [h * w, 1]);
    return reshape(matmul(reshape(x, [n * c, h * w]), column), [n, c, 1, 1]);
  }
}
