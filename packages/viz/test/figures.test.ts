import { describe, expect, it } from 'vitest';
import {
  BAR_RGB, capHeight, confusionCellRect, diverging, glyph, log2Ticks, niceTicks, PALETTE, planConfusion,
  renderConfusion, renderCurves, renderFilterGrid, renderRgbFilters, renderSparsityBars, renderTradeoff,
  textWidth, VIRIDIS_TABLE, viridis, writePng, type RGB,
} from '@sparsenet/viz';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countColor, decode, inkInRows, rng, sameRgb } from './png.js';

describe('font, colours and ticks', () => {
  it('has a glyph for every printable ASCII character and text at least 10 px tall at scale 2', () => {
    const unknown = glyph('\u00e9');
    for (let c = 33; c <= 126; c++) {
      const ch = String.fromCharCode(c);
      if (ch !== '?') expect(glyph(ch), ch).not.toBe(unknown);
      expect(glyph(ch).pixels.length, ch).toBeGreaterThan(0);
    }
    expect(capHeight(2)).toBeGreaterThanOrEqual(10);
    expect(textWidth('0123456789', 2)).toBe(10 * 5 * 2 + 9 * 2);
  });

  it('samples viridis from its table and the diverging map through white', () => {
    expect(VIRIDIS_TABLE.length).toBe(256);
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    expect(diverging(0)).toEqual([247, 247, 247]);
    expect(diverging(-1)[2]).toBeGreaterThan(diverging(-1)[0]);
    expect(diverging(1)[0]).toBeGreaterThan(diverging(1)[2]);
  });

  it('makes nice ticks', () => {
    expect(niceTicks(0, 1, 5).map((t) => t.label)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(niceTicks(0, 15, 6, true).map((t) => t.value)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(0, 2, 6, true).map((t) => t.value)).toEqual([0, 1, 2]);
    expect(log2Ticks(1, 64).map((t) => t.label)).toEqual(['1', '2', '4', '8', '16', '32', '64']);
  });
});

describe('sparsity bars', () => {
  it('has bars whose heights follow the layers sparsity on a 0-100% axis', () => {
    const sparsity = [0.1, 0.25, 0.5, 0.9, 1.0];
    const img = decode(renderSparsityBars(sparsity.map((s, i) => ({ name: `layer${i}`, sparsity: s })), { overall: 0.6 }));
    expect([img.width, img.height]).toEqual([800, 500]);
    // Find bars as runs of columns holding the bar colour, then measure each at its middle column.
    const runs: Array<[number, number]> = [];
    for (let x = 0; x < img.width; x++) {
      let has = false;
      for (let y = 0; y < img.height && !has; y++) has = sameRgb(img.pixel(x, y), BAR_RGB);
      if (!has) continue;
      if (runs.length && runs[runs.length - 1][1] === x - 1) runs[runs.length - 1][1] = x;
      else runs.push([x, x]);
    }
    expect(runs.length).toBe(sparsity.length);
    const extents = runs.map(([a, b]) => {
      const x = Math.floor((a + b) / 2);
      let top = -1;
      let bottom = -1;
      for (let y = 0; y < img.height; y++) {
        if (sameRgb(img.pixel(x, y), BAR_RGB)) {
          if (top < 0) top = y;
          bottom = y;
        }
      }
      return { top, bottom, height: bottom - top + 1 };
    });
    for (const e of extents) expect(e.bottom).toBe(extents[0].bottom);
    const full = extents[4].height;
    extents.forEach((e, i) => expect(Math.abs(e.height - sparsity[i] * full), `bar ${i}`).toBeLessThanOrEqual(1.5));
    expect(inkInRows(img, 0, 40)).toBeGreaterThan(200);
  });
});

describe('confusion matrix', () => {
  it('colours cells in the order of their row-normalised values and writes counts', () => {
    const names = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'];
    const r = rng(4);
    const counts = names.map((_, i) => names.map((_, j) => (i === j ? 40 + 30 * i : Math.floor(r() * 25))));
    const png = renderConfusion(counts, names);
    const img = decode(png);
    expect([img.width, img.height]).toEqual([720, 640]);
    const plan = planConfusion(counts, names);
    const nearestViridis = (c: RGB) => {
      let best = 0;
      let bestD = Infinity;
      VIRIDIS_TABLE.forEach((v, i) => {
        const d = (v[0] - c[0]) ** 2 + (v[1] - c[1]) ** 2 + (v[2] - c[2]) ** 2;
        if (d < bestD) [best, bestD] = [i, d];
      });
      return best;
    };
    const cells: Array<{ value: number; index: number }> = [];
    counts.forEach((row, i) => {
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((count, j) => {
        const rect = confusionCellRect(plan, i, j);
        const color = img.pixel(rect.x + 2, rect.y + 2);
        cells.push({ value: count / sum, index: nearestViridis(color) });
        // The count is written in the cell: some pixels differ from the cell colour.
        let ink = 0;
        for (let y = rect.y; y < rect.y + rect.height; y++) for (let x = rect.x; x < rect.x + rect.width; x++) if (!sameRgb(img.pixel(x, y), color)) ink++;
        expect(ink, `text in cell ${i},${j}`).toBeGreaterThan(20);
      });
    });
    for (const a of cells) for (const b of cells) if (a.value < b.value - 1 / 255) expect(a.index).toBeLessThan(b.index);
    expect(inkInRows(img, 0, 30)).toBeGreaterThan(200);
  });

  it('rejects counts that are not n x n', () => {
    expect(() => renderConfusion([[1, 2]], ['a', 'b'])).toThrow(/must be 2x2/);
  });
});

describe('filters', () => {
  it('scales each RGB filter on its own from min to max', () => {
    // Two 1x1 filters whose channels are (-1, 0, 1) and (10, 20, 30): both become (0, 128, 255).
    const img = decode(renderRgbFilters(Float32Array.from([-1, 0, 1, 10, 20, 30]), [2, 3, 1, 1]));
    expect([img.width, img.height]).toEqual([800, 500]);
    const patch = countColor(img, [0, 128, 255]);
    expect(patch).toBeGreaterThan(2 * 20 * 20);
    expect(inkInRows(img, 0, 30)).toBeGreaterThan(200);
  });

  it('draws signed filters with the diverging map and magnitudes with viridis', () => {
    const shape = [8, 6, 5, 5];
    const r = rng(9);
    const w = Float32Array.from({ length: 8 * 6 * 25 }, () => r() * 2 - 1);
    w[0] = 2;
    w[1] = -2;
    const signed = decode(renderFilterGrid(w, shape, { name: 'conv2' }));
    expect([signed.width, signed.height]).toEqual([800, 600]);
    expect(countColor(signed, diverging(1))).toBeGreaterThan(4);
    expect(countColor(signed, diverging(-1))).toBeGreaterThan(4);
    const magnitude = decode(renderFilterGrid(w, shape, { name: 'conv2', mode: 'magnitude' }));
    expect(countColor(magnitude, viridis(1))).toBeGreaterThan(8);
  });
});

describe('curves and trade-off', () => {
  it('draws every series in its colour inside a documented 800x500 image', () => {
    const epochs = Array.from({ length: 12 }, (_, i) => i + 1);
    const png = renderCurves(
      [
        { name: 'train loss', x: epochs, y: epochs.map((e) => 2 / e) },
        { name: 'test loss', x: epochs, y: epochs.map((e) => (e === 6 ? null : 2.2 / e)), dashed: true },
      ],
      { title: 'Loss', yLabel: 'loss' },
    );
    const img = decode(png);
    expect([img.width, img.height]).toEqual([800, 500]);
    expect(countColor(img, PALETTE[0])).toBeGreaterThan(100);
    expect(countColor(img, PALETTE[1])).toBeGreaterThan(100);
    expect(inkInRows(img, 0, 40)).toBeGreaterThan(100);
  });

  it('draws one line per pruner against sparsity or compression', () => {
    const points = ['magnitude', 'random'].flatMap((pruner, k) =>
      [0, 0.5, 0.75, 0.9].map((s) => ({ pruner, sparsity: s, accuracy: 0.8 - (k + 1) * 0.1 * s })),
    );
    for (const xAxis of ['sparsity', 'compression'] as const) {
      const img = decode(renderTradeoff(points, { xAxis, baseline: 0.8 }));
      expect([img.width, img.height]).toEqual([800, 500]);
      expect(countColor(img, PALETTE[0])).toBeGreaterThan(100);
      expect(countColor(img, PALETTE[1])).toBeGreaterThan(100);
    }
  });
});

describe('writePng', () => {
  it('writes through a temporary file and leaves only the target', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viz-'));
    try {
      const png = renderSparsityBars([{ name: 'a', sparsity: 0.5 }]);
      const path = join(dir, 'sub', 'bars.png');
      writePng(path, png);
      expect(existsSync(path)).toBe(true);
      expect(readFileSync(path).equals(png)).toBe(true);
      expect(readdirSync(join(dir, 'sub'))).toEqual(['bars.png']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
