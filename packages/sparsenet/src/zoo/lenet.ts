/** `lenet`: today's LeNet (model.ts), unchanged: the same parameter names, seeds and numbers. */
import { LENET_WIDTHS, LeNet, type LeNetWidths } from '../model.js';
import type { BuildContext, ZooEntry } from './index.js';

export interface LeNetZooOptions {
  /** Hidden widths; narrower after structured compaction. */
  widths: LeNetWidths;
}

export const lenetEntry: ZooEntry<LeNetZooOptions> = {
  name: 'lenet',
  description: 'LeNet-5 style: conv 6 and 16 (5x5, ReLU, max-pool 2), fc 120, 84 (18.2 MFLOP per training image)',
  defaults: { widths: { ...LENET_WIDTHS } },
  build(options: LeNetZooOptions, { numClasses, imageSize, seed }: BuildContext): LeNet {
    return new LeNet({ seed, widths: options.widths, numClasses, inputSize: imageSize });
  },
  compacted: (_, outputs) => ({ widths: { conv1: outputs('conv1'), conv2: outputs('conv2'), fc1: outputs('fc1'), fc2: outputs('fc2') } }),
};
