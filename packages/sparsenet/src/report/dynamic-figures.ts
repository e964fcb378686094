/**
 * A dynamic sparse training run's figures (`--pruner set|rigl`), from its dynamic.json and mask snapshots: the
 * weights each layer dropped and grew per update, and each sparse layer's mask at the start, after the updates
 * nearest 1/3 and 2/3 of them, and after the last.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropGrowSpec, maskHeatmapSpec, type FigureSpec, type HeatmapOptions } from '@sparsenet/viz';
import { DYNAMIC_FILE, type DynamicRecords } from '../train/dynamic-training.js';
import { readCheckpoint } from '../train/checkpoint.js';

export interface DynamicFigure {
  file: string;
  title: string;
  caption: string;
  spec: FigureSpec;
  /** Mask pictures go beside the other pictures; the update counts beside the layers. */
  section: 'layers' | 'pictures';
}

/** None for a run without dynamic.json; `view` draws a layer as the run's other mask pictures do. */
export function dynamicFigures(runDir: string, view: (name: string, mask: ArrayLike<number>, shape: readonly number[]) => [readonly number[], HeatmapOptions]): DynamicFigure[] {
  const path = join(runDir, DYNAMIC_FILE);
  if (!existsSync(path)) return [];
  let records: DynamicRecords;
  try {
    records = JSON.parse(readFileSync(path, 'utf8')) as DynamicRecords;
  } catch (error) {
    throw new Error(`report: ${path} is not valid JSON (${(error as Error).message})`);
  }
  const method = records.method === 'rigl' ? 'RigL' : records.method.toUpperCase();
  const figures: DynamicFigure[] = [];
  if (records.updates.length) {
    const subtitle = `${method}, every ${records.updateEvery} steps until step ${records.endStep}, drop fraction ${records.dropFraction} cosine-decayed; ${records.densityDistribution === 'erk' ? 'ERK' : 'uniform'} budgets at sparsity ${records.sparsity}`;
    figures.push({
      file: 'dynamic-drop-grow',
      section: 'layers',
      title: 'Weights dropped and grown per mask update',
      caption: 'Per layer and update: kept weights dropped by smallest |w|, and weights grown that were pruned (the difference came straight back).',
      spec: dropGrowSpec(records.updates, { subtitle }),
    });
  }
  const sparse = new Set(records.layers.filter((l) => l.density < 1).map((l) => l.name));
  for (const snapshot of records.snapshots) {
    const file = join(runDir, snapshot.file);
    if (!existsSync(file)) continue;
    const { state } = readCheckpoint(file);
    for (const name of sparse) {
      const weight = state[`${name}.weight`];
      const mask = state[`${name}.weight_mask`];
      if (!weight || !mask) continue;
      const [shape, options] = view(name, mask.data, mask.shape);
      const spec = maskHeatmapSpec(weight.data, mask.data, shape, options);
      // The layer's own title (shape, share pruned), with the point in training after it.
      spec.title = { ...(spec.title as Record<string, unknown>), text: `${(spec.title as { text: string }).text}, ${snapshot.label}` };
      figures.push({ file: `dynamic-mask-${name}-step-${snapshot.step}`, section: 'pictures', title: `${name} mask, ${snapshot.label}`, caption: `${name} ${snapshot.label}: |w| of the kept weights; grey: pruned`, spec });
    }
  }
  return figures;
}
