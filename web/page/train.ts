/** A few training steps in the browser: LeNet forward, cross-entropy, backward and Adam on one batch of samples. */
import { crossEntropy, labels, optim, scoped, tensor } from '@sparsenet/tensor';
import { INPUT_SIZE, LeNet } from '../../packages/sparsenet/src/model.js';

export interface TrainOptions {
  steps: number;
  lr?: number;
  seed?: number;
  /** Called with each step's loss as it is read back. */
  onStep?: (step: number, loss: number) => void;
}

/** Trains a fresh LeNet on the batch for `steps` Adam steps; returns the loss before each step. */
export async function trainSteps(batch: Float32Array, targets: Int32Array, options: TrainOptions): Promise<number[]> {
  const model = new LeNet({ seed: options.seed ?? 0 });
  const adam = new optim.Adam(model.parametersWithMasks(), { lr: options.lr ?? 1e-3 });
  const losses: number[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      const loss = await scoped(async () => {
        const x = tensor(batch, [targets.length, 3, INPUT_SIZE, INPUT_SIZE]);
        adam.zeroGrad();
        const value = crossEntropy(model.forward(x), labels(targets));
        value.backward();
        adam.step();
        return value.item({ checkFinite: true });
      });
      losses.push(loss);
      options.onStep?.(step, loss);
    }
    return losses;
  } finally {
    adam.dispose();
    model.dispose();
  }
}

/** The losses as a small line chart. */
export function drawLosses(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const context = canvas.getContext('2d')!;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  if (losses.length < 2) return;
  const pad = 24;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const x = (i: number) => pad + ((width - 2 * pad) * i) / (losses.length - 1);
  const y = (v: number) => height - pad - ((height - 2 * pad) * (v - lo)) / (hi - lo || 1);
  context.strokeStyle = '#1f77b4';
  context.lineWidth = 2;
  context.beginPath();
  losses.forEach((v, i) => (i ? context.lineTo(x(i), y(v)) : context.moveTo(x(i), y(v))));
  context.stroke();
  context.fillStyle = '#333';
  context.font = '12px system-ui, sans-serif';
  context.fillText(`loss ${hi.toFixed(3)}`, 4, pad - 8);
  context.fillText(`${lo.toFixed(3)}`, 4, height - 6);
}
