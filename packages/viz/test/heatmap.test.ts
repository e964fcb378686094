import { describe, expect, it } from 'vitest';
import {
  KEPT_RGB, maskCellCenter, planMaskHeatmap, PRUNED_RGB, renderMaskHeatmap, VIRIDIS_TABLE, viridis,
} from '@sparsenet/viz';
import { decode, inkInRows, rng, sameRgb } from './png.js';

/** A mask whose keep probability varies by row, with rows [0, emptyRows) fully pruned. */
function rowMask(rows: number, cols: number, inner: number, seed: number, emptyRows = 0): Float32Array {
  const r = rng(seed);
  const m = new Float32Array(rows * cols * inner);
  for (let i = 0; i < m.length; i++) {
    const row = Math.floor(i / (cols * inner));
    m[i] = row >= emptyRows && r() < 0.1 + 0.8 * ((row * 7) % 10) / 10 ? 1 : 0;
  }
  return m;
}

describe('mask heatmap', () => {
  it('PRUNED_RGB is far from every viridis entry and from the kept colour', () => {
    for (const c of [...VIRIDIS_TABLE, KEPT_RGB]) {
      const d = Math.abs(c[0] - PRUNED_RGB[0]) + Math.abs(c[1] - PRUNED_RGB[1]) + Math.abs(c[2] - PRUNED_RGB[2]);
      expect(d).toBeGreaterThan(60);
    }
  });

  it('tiles conv kernels at full resolution: pruned weights PRUNED_RGB, kept never', () => {
    const shape = [5, 4, 3, 3];
    const mask = Float32Array.from({ length: 5 * 4 * 9 }, (_, k) => (k % 3 === 0 || k % 7 === 0 ? 0 : 1));
    const png = renderMaskHeatmap(mask, shape, { name: 'conv2' });
    const img = decode(png);
    expect([img.width, img.height]).toEqual([800, 600]);
    const plan = planMaskHeatmap(mask, shape, { name: 'conv2' });
    expect(plan.mode).toBe('full');
    expect(plan.tiling.gapPx).toBeGreaterThanOrEqual(1);
    let k = 0;
    for (let o = 0; o < 5; o++) for (let i = 0; i < 4; i++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
      const { x, y } = maskCellCenter(plan, o, i, ky, kx);
      const c = img.pixel(x, y);
      if (mask[k++] === 0) expect(c, `weight ${o},${i},${ky},${kx}`).toEqual(PRUNED_RGB);
      else {
        expect(sameRgb(c, PRUNED_RGB)).toBe(false);
        expect(c).toEqual(KEPT_RGB);
      }
    }
    // The gap between kernel (0,0) and kernel (0,1) is background, not a cell colour.
    const last = maskCellCenter(plan, 0, 0, 0, 2);
    const gapX = last.x + Math.ceil(plan.tiling.cellPx / 2);
    expect(img.pixel(gapX, last.y)).toEqual([255, 255, 255]);
    expect(plan.title).toContain('pruned');
    expect(inkInRows(img, 0, 40)).toBeGreaterThan(200);
  });

  it('draws a linear mask as a matrix with one cell per weight', () => {
    const mask = rowMask(30, 45, 1, 3);
    const png = renderMaskHeatmap(mask, [30, 45], { name: 'fc3' });
    const img = decode(png);
    const plan = planMaskHeatmap(mask, [30, 45], { name: 'fc3' });
    expect(plan.mode).toBe('full');
    expect(plan.tiling.gapPx).toBe(0);
    for (let o = 0; o < 30; o++) for (let i = 0; i < 45; i++) {
      const { x, y } = maskCellCenter(plan, o, i);
      expect(sameRgb(img.pixel(x, y), PRUNED_RGB), `weight ${o},${i}`).toBe(mask[o * 45 + i] === 0);
    }
  });

  it('downsamples a large linear mask: each cell shows the fraction kept of its block, and the title says so', () => {
    const rows = 900;
    const cols = 1500;
    const mask = rowMask(rows, cols, 1, 11, 40);
    const img = decode(renderMaskHeatmap(mask, [rows, cols], { name: 'fc_big' }));
    const plan = planMaskHeatmap(mask, [rows, cols], { name: 'fc_big' });
    expect(plan.mode).toBe('block-fraction');
    expect(plan.factor).toBeGreaterThan(1);
    expect(plan.title).toContain('downsampled');
    const f = plan.factor;
    let checked = 0;
    for (let br = 0; br * f < rows; br++) {
      for (let bc = 0; bc * f < cols; bc++) {
        let kept = 0;
        let total = 0;
        for (let r = br * f; r < Math.min(rows, (br + 1) * f); r++) for (let c = bc * f; c < Math.min(cols, (bc + 1) * f); c++) {
          total++;
          kept += mask[r * cols + c] !== 0 ? 1 : 0;
        }
        const { x, y } = maskCellCenter(plan, br * f, bc * f);
        expect(img.pixel(x, y), `block ${br},${bc}`).toEqual(kept === 0 ? PRUNED_RGB : viridis(kept / total));
        checked++;
      }
    }
    expect(checked).toBe(Math.ceil(rows / f) * Math.ceil(cols / f));
  });

  it('reduces a conv mask that does not fit to the fraction kept per kernel', () => {
    const shape = [128, 64, 3, 3];
    const mask = rowMask(128, 64, 9, 5, 8);
    const img = decode(renderMaskHeatmap(mask, shape, { name: 'conv3' }));
    const plan = planMaskHeatmap(mask, shape, { name: 'conv3' });
    expect(plan.mode).toBe('kernel-fraction');
    expect(plan.title).toContain('downsampled');
    for (const [o, i] of [[0, 0], [10, 5], [77, 63], [127, 0], [64, 32]]) {
      const f = plan.factor;
      let kept = 0;
      let total = 0;
      for (let oo = Math.floor(o / f) * f; oo < Math.min(128, (Math.floor(o / f) + 1) * f); oo++) {
        for (let ii = Math.floor(i / f) * f; ii < Math.min(64, (Math.floor(i / f) + 1) * f); ii++) {
          for (let k = 0; k < 9; k++) {
            total++;
            kept += mask[(oo * 64 + ii) * 9 + k] !== 0 ? 1 : 0;
          }
        }
      }
      const { x, y } = maskCellCenter(plan, o, i);
      expect(img.pixel(x, y)).toEqual(kept === 0 ? PRUNED_RGB : viridis(kept / total));
    }
  });

  it('rejects masks that do not match their shape', () => {
    expect(() => renderMaskHeatmap(new Float32Array(5), [2, 3])).toThrow(/5 values but shape \[2,3\] holds 6/);
    expect(() => renderMaskHeatmap(new Float32Array(6), [6])).toThrow(/must be \[out,in\] or \[out,in,kh,kw\]/);
  });
});
