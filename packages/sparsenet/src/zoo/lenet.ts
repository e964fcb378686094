/** `lenet`: today's LeNet (model.ts), unchanged: the same parameter names, seeds and numbers. */
import { INPUT_SIZE, LENET_WIDTHS, LeNet, NUM_CLASSES, type LeNetWidths } from '../model.js';
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
    if (numClasses !== NUM_CLASSES || imageSize !== INPUT_SIZE) {
      throw new Error(`zoo: lenet takes ${INPUT_SIZE}x${INPUT_SIZE} images and ${NUM_CLASSES} classes, got ${imageSize}x${imageSize} and ${numClasses}`);
    }
    return new LeNet({ seed, widths: options.widths });
  },
};
