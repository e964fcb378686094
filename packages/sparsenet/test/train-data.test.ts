import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getDevice, runtime } from '@sparsenet/tensor';
import {
  DEFAULT_TRAIN_CONFIG, decodeRunMetadata, defaultDataDir, evaluateCheckpoint, exportSplitFolders, loadSplits, predictImages, readCheckpoint, readMetadata, train,
} from '@sparsenet/sparsenet';
import { tempDir } from './data-fixtures.js';

const root = tempDir('train-data');
const LIMIT = 300;

describe('the embedded set as split folders', () => {
  it('gives the HAM10000 run and the split-folders run the same images in each part, class by class', async () => {
    const out = join(root, 'folders');
    const exported = exportSplitFolders({ from: defaultDataDir(), out, limit: LIMIT, split: { seed: 0 } });
    const options = { limit: LIMIT, cacheDir: false as const, onWarning: () => {} };
    const ham = await loadSplits({ ...options, split: { seed: 0 } });
    const folders = await loadSplits({ ...options, dir: out });
    expect([ham.layout, folders.layout]).toEqual(['ham10000', 'split-folders']);
    expect(folders.classes).toEqual(ham.classes);
    expect(ham.dataset.count).toBe(LIMIT);
    for (const part of ['train', 'val', 'test'] as const) {
      expect(folders[part].classCounts(), part).toEqual(ham[part].classCounts());
      expect(folders[part].classCounts(), part).toEqual(exported.counts[part]);
      const ids = folders[part].imageIds.map((id) => basename(id, '.jpg'));
      expect([...ids].sort(), part).toEqual([...ham[part].imageIds].sort());
      // Copied byte for byte: the same pixels under each id.
      const pixels = 64 * 64 * 3;
      const i = 0;
      const j = ham[part].imageIds.indexOf(ids[i]);
      expect(folders[part].images.subarray(i * pixels, (i + 1) * pixels)).toEqual(ham[part].images.subarray(j * pixels, (j + 1) * pixels));
    }
    expect(ham.test.count).toBeGreaterThan(40);
  });
});

describe('training on a class-folder set of 3 classes', () => {
  it('trains, evaluates and reports with the folder names; eval and predict read classes, size and normalisation from the checkpoint', async () => {
    const dir = join(root, 'three');
    const rows = readMetadata(join(defaultDataDir(), 'HAM10000_metadata.csv'));
    const names = ['mel', 'bkl', 'nv'];
    for (const name of names) {
      mkdirSync(join(dir, name), { recursive: true });
      for (const row of rows.filter((r) => r.dx === name).slice(0, 40)) copyFileSync(join(defaultDataDir(), 'images', `${row.imageId}.jpg`), join(dir, name, `${row.imageId}.jpg`));
    }
    await getDevice();
    runtime().runner.tuner.force({ matmul: 'register', conv2d: 'register' });
    const out = join(root, 'run');
    const lines: string[] = [];
    const result = await train(
      { ...DEFAULT_TRAIN_CONFIG, data: dir, epochs: 2, batchSize: 16, imageSize: 32, normalize: 'dataset', out, report: true },
      { log: (line) => lines.push(line) },
    );
    const classes = ['bkl', 'mel', 'nv'];
    expect(lines.some((l) => l.startsWith(`data: ${dir} (class-folders, 3 classes: bkl, mel, nv): train `))).toBe(true);

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.layout).toBe('class-folders');
    expect(config.run.layout).toBe('class-folders');
    expect(config.run.classes).toEqual(classes);
    expect(config.run.imageSize).toBe(32);
    expect(config.run.normalization.mean).not.toEqual([0.5, 0.5, 0.5]);

    const final = JSON.parse(readFileSync(join(out, 'final.json'), 'utf8'));
    expect([final.classes, final.numClasses]).toEqual([classes, 3]);
    expect(Object.keys(final.testRecall)).toEqual(classes);
    expect(final.testConfusion.map((row: number[]) => row.length)).toEqual([3, 3, 3]);
    expect(final.testConfusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(final.testImages);
    expect(final.testImages).toBe(24);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const name of classes) expect(html).toContain(`recall ${name}`);
    expect(existsSync(join(out, 'figures', 'confusion.png'))).toBe(true);
    expect(lines.some((l) => /^ {2}test recall bkl (-|[\d.]+) mel (-|[\d.]+) nv (-|[\d.]+)$/.test(l))).toBe(true);

    const checkpoint = join(out, 'final.safetensors');
    const { state, metadata } = readCheckpoint(checkpoint);
    expect(decodeRunMetadata(metadata, checkpoint, false)).toEqual(config.run);
    expect(state['fc3.weight'].shape).toEqual([3, 84]);
    // 32x32 inputs: conv2's pooled output is 16 channels of 5x5.
    expect(state['fc1.weight'].shape).toEqual([120, 16 * 5 * 5]);

    const e = await evaluateCheckpoint({ checkpoint });
    expect(e.classes).toEqual(classes);
    expect(e.metrics.confusion).toEqual(result.final.testConfusion);
    expect(e.metrics.accuracy).toBe(result.final.testAccuracy);

    const file = join(dir, 'nv', readFileSync(join(out, 'split.csv'), 'utf8').split('\n').find((l) => l.startsWith('nv/'))!.split(',')[0].slice(3));
    const [prediction] = await predictImages(checkpoint, [file]);
    expect(prediction.classes).toEqual(classes);
    expect(prediction.probabilities).toHaveLength(3);
  });
});
