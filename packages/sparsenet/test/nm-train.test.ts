import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainArgs, prunableLayers, pruneModel, sparseNet, traceLayerGraph, train } from '@sparsenet/sparsenet';
import { useDevice } from '../../tensor/test/helpers.js';

useDevice();

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'sparsenet-nm-')), name);
const flags = (out: string, ...more: string[]) => parseTrainArgs(['--limit', '120', '--epochs', '2', '--prune-start', '1', '--batch-size', '32', '--no-report', '--out', out, ...more]).config;

describe('npm run train -- --nm 2:4', () => {
  it("prunes a masked LeNet as training's events do: fc1..fc3 exactly 2:4 (pruned weights zero), conv1 and conv2 dense with a warning naming them", async () => {
    const model = sparseNet({ seed: 1 });
    try {
      const graph = traceLayerGraph(model, [3, 64, 64]);
      const lines: string[] = [];
      const config = flags(tmp('nm'), '--nm', '2:4');
      await pruneModel(model, graph, config, config.sparsity, 0, { log: (line) => lines.push(line) });
      expect(lines).toEqual(['pruner nm: 2:4 leaves conv1 (75), conv2 (150) dense: input dimension not a multiple of 4']);
      const layers = await prunableLayers(model, graph);
      expect(layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
      for (const { name, mask, weight } of layers) {
        if (name.startsWith('conv')) expect(mask.every((v) => v === 1), name).toBe(true);
        else for (let g = 0; g < mask.length; g += 4) expect(mask[g] + mask[g + 1] + mask[g + 2] + mask[g + 3], `${name} group ${g / 4}`).toBe(2);
        mask.forEach((v, i) => v === 0 && expect(weight[i]).toBe(0));
      }
    } finally {
      model.dispose();
    }
  });

  it('fails at the start, naming the flag and the layer, when --nm-layers names a layer M does not divide', async () => {
    await expect(train(flags(tmp('bad'), '--nm', '2:4', '--nm-layers', 'fc1,conv2'), { log: () => {} })).rejects.toThrow(
      "--nm-layers: layer 'conv2' [16,6,5,5] was named, but its input dimension 150 is not a multiple of 4 (--nm 2:4)",
    );
  });
});
