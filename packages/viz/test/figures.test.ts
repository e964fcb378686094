/**
 * Every figure's SVG read back: the plotted values from the marks' ARIA labels (and, for the trade-off, from
 * the marks' positions against the axis ticks) equal the input, bands equal mean ± std computed here, axis
 * titles are text, no label is camelCase; and every PNG, rendered from the SVG with system fonts off, decodes
 * at 2x, is not blank and holds the series' colours.
 */
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  confusionSpec, curvesSpec, filterGridSpec, fontFiles, humanLabel, maskHeatmapSpec, PALETTE, parseFigureFormats, PNG_SCALE, PRUNED_RGB,
  REFERENCE_RGB, renderSvg, rgbFiltersSpec, rgbHex, sensitivitySpec, sparsityBarsSpec, svgToPng, tradeoffSpec, type FigureSpec, type RGB, type SweepPoint,
} from '@sparsenet/viz';
import { all, CAMEL_CASE, countNear, decode, fillRgb, inkInRows, markLabels, marksByLabel, parseSvg, rng, texts, type SvgElement } from './svg.js';

interface Rendered {
  svg: string;
  root: SvgElement;
  texts: string[];
  png: ReturnType<typeof decode>;
}

async function render(spec: FigureSpec): Promise<Rendered> {
  const svg = await renderSvg(spec);
  const root = parseSvg(svg);
  const png = decode(svgToPng(svg));
  const el = root.children.find((e) => e.tag === 'svg')!;
  expect([png.width, png.height]).toEqual([Number(el.attrs.width) * PNG_SCALE, Number(el.attrs.height) * PNG_SCALE]);
  // Not blank: 2% of the image or more is drawn.
  expect(inkInRows(png, 0, png.height)).toBeGreaterThan(png.width * png.height * 0.02);
  const shown = texts(root);
  for (const t of shown) expect(t, `label '${t}'`).not.toMatch(CAMEL_CASE);
  return { svg, root, texts: shown, png };
}

/** The numbers after `key ` in an ARIA label. */
function field(label: string, key: string): number {
  const m = new RegExp(`${key} (-?[\\d.e+-]+)`).exec(label);
  if (!m) throw new Error(`no '${key}' in '${label}'`);
  return Number(m[1]);
}

/** Pixel y of a value on the y axis, from the tick marks and their labels (linear; labels parsed by `parse`). */
function yAxis(root: SvgElement, parse: (label: string) => number): (v: number) => number {
  const axis = all(root, (e) => e.tag === 'g' && (e.attrs['aria-label'] ?? '').startsWith('Y-axis'))[0];
  const ticks = all(axis, (e) => e.tag === 'g' && e.attrs.class === 'mark-rule role-axis-tick')[0].children;
  const labels = all(axis, (e) => e.tag === 'g' && e.attrs.class === 'mark-text role-axis-label')[0].children;
  expect(ticks.length).toBe(labels.length);
  const [a, b] = [0, ticks.length - 1];
  const va = parse(labels[a].text);
  const vb = parse(labels[b].text);
  return (v) => ticks[a].offset[1] + ((v - va) / (vb - va)) * (ticks[b].offset[1] - ticks[a].offset[1]);
}

/** The absolute vertices of the band (area mark) filled with `color`. */
function bandVertices(root: SvgElement, color: RGB): Array<[number, number]> {
  const area = all(root, (e) => e.tag === 'path' && e.parent?.attrs.class?.startsWith('mark-area') === true && e.attrs.fill === rgbHex(color))[0];
  return [...area.attrs.d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((v) => [area.offset[0] + Number(v[1]), area.offset[1] + Number(v[2])]);
}

const percent = (label: string) => Number(label.replace('%', '')) / 100;

function meanStd(values: number[]): [number, number] {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return [m, values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1)) : 0];
}

describe('labels and formats', () => {
  it('turns code names into words', () => {
    expect(humanLabel('valBalancedAccuracy')).toBe('validation balanced accuracy');
    expect(humanLabel('trainLoss')).toBe('train loss');
    expect(humanLabel('sparsity_conv1')).toBe('sparsity conv1');
    expect(humanLabel('imagesPerSecond')).toBe('images per second');
  });

  it('parses --format and refuses pdf and unknown formats by name', () => {
    expect(parseFigureFormats('svg,png')).toEqual(['svg', 'png']);
    expect(parseFigureFormats(' PNG ')).toEqual(['png']);
    expect(() => parseFigureFormats('svg,pdf')).toThrow(/--format pdf: not supported/);
    expect(() => parseFigureFormats('jpg')).toThrow(/unknown format 'jpg'/);
    expect(() => parseFigureFormats('')).toThrow(/comma list/);
  });
});

describe('fonts', () => {
  it('draws text with the bundled font only: without it the same SVG has no glyphs', async () => {
    const svg = await renderSvg(sparsityBarsSpec([{ name: 'conv1', sparsity: 0.5 }], { title: 'Sparsity per layer' }));
    const title = (png: Uint8Array) => inkInRows(decode(png), 0, 40);
    const bare = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: false, fontFiles: [] } }).render().asPng();
    expect(title(bare)).toBe(0);
    expect(title(svgToPng(svg))).toBeGreaterThan(500);
    expect(fontFiles().every((f) => f.endsWith('.ttf'))).toBe(true);
  });
});

describe('curves', () => {
  const epochs = Array.from({ length: 12 }, (_, i) => i + 1);
  const r = rng(3);
  const train = epochs.map((e) => 0.5 + e / 40 + r() * 0.01);
  const val = epochs.map((e) => (e === 6 ? null : 0.45 + e / 45 + r() * 0.01));
  const valStd = epochs.map(() => 0.005 + r() * 0.01);

  it('plots every value, the band as mean ± std, human axis titles and legend, the series colours', async () => {
    const fig = await render(curvesSpec([{ label: 'train', x: epochs, y: train }, { label: 'validation', x: epochs, y: val, std: valStd }], { title: 'Accuracy per epoch', yTitle: 'accuracy', percent: true }));
    const labels = markLabels(fig.root);
    expect(labels.length).toBe(12 + 11);
    epochs.forEach((e, i) => {
      expect(labels).toContain(`train, epoch ${e}: ${train[i]}`);
      const v = val[i];
      if (v === null) expect(labels.some((l) => l.startsWith(`validation, epoch ${e}:`))).toBe(false);
      else expect(labels).toContain(`validation, epoch ${e}: ${v}, band ${v - valStd[i]} to ${v + valStd[i]}`);
    });
    for (const t of ['Accuracy per epoch', 'epoch', 'accuracy', 'train', 'validation']) expect(fig.texts).toContain(t);
    // The validation line breaks at its missing epoch: two runs of the path, the train line one.
    const lines = all(fig.root, (e) => e.tag === 'path' && e.parent?.attrs.class?.startsWith('mark-line') === true);
    const runs = (color: RGB) => (lines.find((e) => e.attrs.stroke === rgbHex(color))!.attrs.d.match(/M/g) ?? []).length;
    expect([runs(PALETTE[0]), runs(PALETTE[1])]).toEqual([1, 2]);
    expect(countNear(fig.png, PALETTE[0])).toBeGreaterThan(200);
    expect(countNear(fig.png, PALETTE[1])).toBeGreaterThan(200);
  });
});

describe('trade-off', () => {
  const r = rng(7);
  const points: SweepPoint[] = ['magnitude', 'random'].flatMap((pruner, k) =>
    [0, 0.5, 0.9, 0.95].flatMap((target) => [0, 1, 2].map((seed) => ({ pruner, target, seed, sparsity: target + (target > 0 ? r() * 1e-3 : 0), accuracy: 0.75 - (k + 1) * 0.1 * target + r() * 0.02 }))),
  );
  const dense = [0.746, 0.7505, 0.7514];

  for (const xAxis of ['sparsity', 'compression'] as const) {
    it(`plots means with ± std bands and bars over seeds, and the baseline with its spread (${xAxis})`, async () => {
      const fig = await render(tradeoffSpec(points, { xAxis, baseline: { label: 'dense baseline', values: dense } }));
      const marks = marksByLabel(fig.root);
      const y = yAxis(fig.root, percent);
      for (const pruner of ['magnitude', 'random']) {
        for (const target of [0, 0.5, 0.9, 0.95]) {
          const seeds = points.filter((p) => p.pruner === pruner && p.target === target);
          const [m, s] = meanStd(seeds.map((p) => p.accuracy));
          const sparsity = seeds.reduce((a, p) => a + p.sparsity, 0) / seeds.length;
          const label = [...marks.keys()].find((l) => l.startsWith(`${pruner}, sparsity ${sparsity}:`));
          expect(label, `${pruner} ${target}`).toBeDefined();
          expect(field(label!, 'mean')).toBeCloseTo(m, 12);
          expect(field(label!, 'band')).toBeCloseTo(m - s, 12);
          expect(field(label!, 'to')).toBeCloseTo(m + s, 12);
          expect(label).toContain('3 seeds');
          // The point sits at the mean on the axis (ticks are drawn at whole pixels), the band's edges at mean ± std.
          const point = marks.get(label!)!;
          expect(Math.abs(point.offset[1] - y(m))).toBeLessThanOrEqual(1);
          const band = bandVertices(fig.root, pruner === 'magnitude' ? PALETTE[0] : PALETTE[1]).filter(([bx]) => Math.abs(bx - point.offset[0]) < 0.01);
          const edges = band.map(([, by]) => by).sort((a, b) => a - b);
          expect(edges.length, `${pruner} ${target} band`).toBe(2);
          [y(m + s), y(m - s)].forEach((want, e) => expect(Math.abs(edges[e] - want), `${pruner} ${target} band edge`).toBeLessThanOrEqual(1));
        }
      }
      const [bm, bs] = meanStd(dense);
      const baseline = [...marks.keys()].find((l) => l.startsWith('dense baseline:'))!;
      expect(field(baseline, 'mean')).toBeCloseTo(bm, 12);
      expect(field(baseline, 'band')).toBeCloseTo(bm - bs, 12);
      expect(field(baseline, 'to')).toBeCloseTo(bm + bs, 12);
      expect(fig.texts).toContain('test accuracy');
      expect(fig.texts).toContain(xAxis === 'sparsity' ? 'sparsity (weights pruned)' : 'compression ratio 1 / (1 − sparsity), log scale');
      if (xAxis === 'compression') for (const t of ['1×', '2×', '4×', '8×', '16×', '32×']) expect(fig.texts).toContain(t);
      else expect(fig.texts).toContain('50%');
      for (const c of [PALETTE[0], PALETTE[1], REFERENCE_RGB]) expect(countNear(fig.png, c, 30), `colour ${c}`).toBeGreaterThan(100);
    });
  }

  it('places compression on a log2 axis: equal ratios, equal distances', async () => {
    const fig = await render(tradeoffSpec([0.5, 0.75, 0.875].map((s) => ({ pruner: 'magnitude', target: s, sparsity: s, accuracy: 0.7 })), { xAxis: 'compression' }));
    const xs = [...marksByLabel(fig.root).values()].map((e) => e.offset[0]);
    expect(xs[1] - xs[0]).toBeCloseTo(xs[2] - xs[1], 6);
  });

  it('refuses a non-finite accuracy, naming the pruner and target', () => {
    expect(() => tradeoffSpec([{ pruner: 'random', target: 0.5, sparsity: 0.5, accuracy: Number.NaN }])).toThrow(/random at 0.5: accuracy NaN/);
  });
});

describe('sensitivity', () => {
  const r = rng(11);
  const layers = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3', 'layer1.0.conv1', 'layer1.0.conv2'];
  const sparsities = [0.1, 0.5, 0.9, 0.95];
  const points = layers.flatMap((layer, k) => sparsities.map((sparsity) => ({ layer, sparsity, accuracy: 0.75 - 0.05 * k * sparsity ** 2 + r() * 0.01 })));

  it('plots every layer\'s accuracy at every sparsity where the axis puts it, and the dense reference line', async () => {
    const fig = await render(sensitivitySpec(points, { dense: { label: 'dense (unpruned)', accuracy: 0.749 } }));
    const marks = marksByLabel(fig.root);
    const y = yAxis(fig.root, percent);
    expect(marks.size).toBe(points.length + 1);
    for (const p of points) {
      const mark = marks.get(`${p.layer}, sparsity ${p.sparsity}: accuracy ${p.accuracy}`);
      expect(mark, `${p.layer} ${p.sparsity}`).toBeDefined();
      expect(Math.abs(mark!.offset[1] - y(p.accuracy))).toBeLessThanOrEqual(1);
    }
    // The same layer's points, left to right in sparsity order.
    const xs = sparsities.map((s) => marks.get(`fc1, sparsity ${s}: accuracy ${points.find((p) => p.layer === 'fc1' && p.sparsity === s)!.accuracy}`)!.offset[0]);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(marks.has('dense (unpruned): accuracy 0.749')).toBe(true);
    for (const t of ['Sensitivity of each layer', 'sparsity of the layer pruned alone', 'validation accuracy', '50%', ...layers, 'dense (unpruned)']) expect(fig.texts).toContain(t);
    for (const c of [PALETTE[0], PALETTE[5], REFERENCE_RGB]) expect(countNear(fig.png, c, 30), `colour ${c}`).toBeGreaterThan(100);
  });

  it('refuses a non-finite accuracy or a sparsity outside [0, 1], naming the layer', () => {
    expect(() => sensitivitySpec([{ layer: 'fc1', sparsity: 0.5, accuracy: Number.NaN }], { dense: { label: 'dense', accuracy: 0.7 } })).toThrow(/layer fc1 at sparsity 0.5: accuracy NaN/);
    expect(() => sensitivitySpec([{ layer: 'conv2', sparsity: 1.5, accuracy: 0.5 }], { dense: { label: 'dense', accuracy: 0.7 } })).toThrow(/layer conv2 at sparsity 1.5/);
  });
});

describe('sparsity per layer', () => {
  it('draws one bar per layer whose height is its sparsity, the overall line, percent labels', async () => {
    const layers = [0.1, 0.25, 0.5, 0.9, 1].map((sparsity, i) => ({ name: `conv${i + 1}`, sparsity }));
    const fig = await render(sparsityBarsSpec(layers, { overall: 0.6 }));
    const marks = marksByLabel(fig.root);
    const y = yAxis(fig.root, percent);
    for (const l of layers) {
      const bar = marks.get(`${l.name}: ${l.sparsity} pruned`)!;
      expect(bar, l.name).toBeDefined();
      // A bar's path is 'Mx,yh..v<height>h..Z' from its top.
      const height = Number(/v(-?[\d.]+)/.exec(bar.attrs.d)![1]);
      expect(Math.abs(bar.offset[1] + Number(/M[-\d.]+,(-?[\d.]+)/.exec(bar.attrs.d)![1]) - y(l.sparsity))).toBeLessThanOrEqual(1);
      expect(Math.abs(height - (y(0) - y(l.sparsity)))).toBeLessThanOrEqual(1);
      expect(fig.texts).toContain(`${(l.sparsity * 100).toFixed(1)}%`);
    }
    expect(marks.has('overall: 0.6 pruned')).toBe(true);
    for (const t of ['Sparsity per layer', 'layer', 'weights pruned', 'overall 60.0%']) expect(fig.texts).toContain(t);
    expect(countNear(fig.png, PALETTE[0], 6)).toBeGreaterThan(1000);
  });

  it('refuses a sparsity outside [0, 1], naming the layer', () => {
    expect(() => sparsityBarsSpec([{ name: 'fc1', sparsity: 1.5 }])).toThrow(/layer fc1 has sparsity 1.5/);
  });
});

describe('confusion matrix', () => {
  const names = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'];
  const r = rng(4);
  const counts = names.map((_, i) => names.map((_, j) => (i === j ? 40 + 30 * i : Math.floor(r() * 25))));

  it('has every count and row share, colours ordered by share, accuracy and balanced accuracy in the subtitle', async () => {
    const fig = await render(confusionSpec(counts, names));
    const marks = marksByLabel(fig.root);
    const cells: Array<{ share: number; fill: RGB }> = [];
    counts.forEach((row, i) => {
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((count, j) => {
        const cell = marks.get(`true ${names[i]}, predicted ${names[j]}: ${count} (${count / sum} of the row)`);
        expect(cell, `${i},${j}`).toBeDefined();
        cells.push({ share: count / sum, fill: fillRgb(cell!) });
      });
    });
    // viridis grows lighter with the share: luminance of the fill follows the share.
    const lum = (c: RGB) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    for (const a of cells) for (const b of cells) if (a.share < b.share - 0.02) expect(lum(a.fill)).toBeLessThan(lum(b.fill));
    const total = counts.flat().reduce((a, b) => a + b, 0);
    const correct = counts.reduce((a, row, i) => a + row[i], 0);
    const balanced = counts.reduce((a, row, i) => a + row[i] / row.reduce((x, y) => x + y, 0), 0) / names.length;
    expect(fig.texts.some((t) => t.includes(`n = ${total}, accuracy ${((correct / total) * 100).toFixed(1)}%, balanced accuracy ${(balanced * 100).toFixed(1)}%`))).toBe(true);
    for (const c of counts.flat()) expect(fig.texts).toContain(String(c));
    for (const t of ['true class', 'predicted class', ...names]) expect(fig.texts).toContain(t);
  });

  it('rejects counts that are not n x n', () => {
    expect(() => confusionSpec([[1, 2]], ['a', 'b'])).toThrow(/confusionSpec: counts must be 2x2/);
  });
});

describe('mask heatmaps and filters', () => {
  const r = rng(9);
  const conv = Float32Array.from({ length: 5 * 4 * 9 }, () => r() * 2 - 1);
  const convMask = Float32Array.from(conv, (w, k) => (Math.abs(w) < 0.4 || k % 7 === 0 ? 0 : 1));

  it('shows |w| of every kept weight and every pruned one in grey, tiled by filter and channel', async () => {
    const fig = await render(maskHeatmapSpec(conv, convMask, [5, 4, 3, 3], { name: 'conv2' }));
    const marks = marksByLabel(fig.root);
    let k = 0;
    for (let o = 0; o < 5; o++) for (let i = 0; i < 4; i++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++, k++) {
      const id = `conv2[${o},${i},${ky},${kx}]`;
      if (convMask[k] === 0) expect(fillRgb(marks.get(`${id}: pruned`)!), id).toEqual(PRUNED_RGB);
      else {
        const cell = marks.get(`${id}: |w| ${Math.abs(conv[k])}`);
        expect(cell, id).toBeDefined();
        expect(fillRgb(cell!)).not.toEqual(PRUNED_RGB);
      }
    }
    // Kernel (0,1) starts one cell after kernel (0,0) ends: the gap between tiles.
    const x = (o: number, i: number, ky: number, kx: number) => {
      const index = ((o * 4 + i) * 3 + ky) * 3 + kx;
      const label = convMask[index] === 0 ? 'pruned' : `|w| ${Math.abs(conv[index])}`;
      const el = marks.get(`conv2[${o},${i},${ky},${kx}]: ${label}`)!;
      return el.offset[0] + Number(/M(-?[\d.]+)/.exec(el.attrs.d)![1]);
    };
    const cell = x(0, 0, 0, 1) - x(0, 0, 0, 0);
    expect(x(0, 1, 0, 0) - x(0, 0, 0, 2)).toBeCloseTo(2 * cell, 3);
    for (const t of ['input channel', 'output channel (filter)', '|w|', 'pruned']) expect(fig.texts).toContain(t);
    expect(fig.texts.some((t) => t.startsWith('conv2 [5,4,3,3]:') && t.endsWith('pruned'))).toBe(true);
    expect(countNear(fig.png, PRUNED_RGB, 0)).toBeGreaterThan(500);
  });

  it('reduces a layer too large to draw weight by weight to the mean |w| (pruned = 0) per kernel, grey when all pruned', async () => {
    const shape = [120, 16, 13, 13];
    const w = Float32Array.from({ length: 120 * 16 * 169 }, () => r() * 2 - 1);
    // Neuron 3 is dead (all pruned); the rest keep about a tenth.
    const m = Float32Array.from(w, (_, k) => (Math.floor(k / (16 * 169)) === 3 || r() > 0.1 ? 0 : 1));
    const fig = await render(maskHeatmapSpec(w, m, shape, { name: 'fc1' }));
    const labels = markLabels(fig.root);
    expect(labels.length).toBe(120 * 16);
    for (const [o, i] of [[0, 0], [3, 5], [77, 15], [119, 9]]) {
      let sum = 0;
      let kept = 0;
      for (let k = (o * 16 + i) * 169; k < (o * 16 + i + 1) * 169; k++) {
        if (m[k] !== 0) {
          sum += Math.abs(w[k]);
          kept++;
        }
      }
      const label = labels.find((l) => l.startsWith(`fc1[${o}:${o + 1},${i}:${i + 1}]:`))!;
      expect(field(label, '\\|w\\|')).toBeCloseTo(sum / 169, 12);
      expect(field(label, ',')).toBeCloseTo(kept / 169, 12);
    }
    expect(fig.texts.some((t) => t.includes('reduced: a cell = one kernel (mean)'))).toBe(true);
    expect(fillRgb(marksByLabel(fig.root).get(labels.find((l) => l.startsWith('fc1[3:4,0:1]:'))!)!)).toEqual(PRUNED_RGB);
  });

  it('draws signed filters: negative blue, positive orange, symmetric scale', async () => {
    const w = Float32Array.from(conv);
    w[0] = 2;
    w[1] = -2;
    const fig = await render(filterGridSpec(w, [5, 4, 3, 3], { name: 'conv2' }));
    const marks = marksByLabel(fig.root);
    const hi = fillRgb(marks.get('conv2[0,0,0,0]: w 2')!);
    const lo = fillRgb(marks.get('conv2[0,0,0,1]: w -2')!);
    expect(hi[0]).toBeGreaterThan(hi[2]);
    expect(lo[2]).toBeGreaterThan(lo[0]);
    for (let k = 2; k < w.length; k++) expect([...marks.keys()].some((l) => l.endsWith(`: w ${w[k]}`))).toBe(true);
    // Nothing pruned, nothing grey: no 'pruned' in the legend.
    expect(fig.texts).not.toContain('pruned');
  });

  it('draws RGB filters each scaled to its own min..max', async () => {
    const w = Float32Array.from({ length: 2 * 3 * 2 * 2 }, () => r() * 4 - 2);
    const fig = await render(rgbFiltersSpec(w, [2, 3, 2, 2], { name: 'conv1' }));
    const marks = marksByLabel(fig.root);
    for (let f = 0; f < 2; f++) {
      const own = Array.from(w.subarray(f * 12, (f + 1) * 12));
      const [lo, hi] = [Math.min(...own), Math.max(...own)];
      for (let p = 0; p < 4; p++) {
        const hex = `#${[0, 1, 2].map((c) => Math.round(((own[c * 4 + p] - lo) / (hi - lo)) * 255).toString(16).padStart(2, '0')).join('')}`;
        const label = `filter ${f} (${Math.floor(p / 2)},${p % 2}): ${hex}`;
        expect(rgbHex(fillRgb(marks.get(label)!)), label).toBe(hex);
      }
    }
    expect(fig.texts).toEqual(expect.arrayContaining(['0', '1']));
  });

  it('rejects weights that do not match their shape, naming the figure and the shape', () => {
    expect(() => maskHeatmapSpec(new Float32Array(5), new Float32Array(6), [2, 3])).toThrow(/maskHeatmapSpec: 5 values but shape \[2,3\] holds 6/);
    expect(() => maskHeatmapSpec(new Float32Array(6), new Float32Array(5), [2, 3])).toThrow(/mask has 5 values/);
    expect(() => filterGridSpec(new Float32Array(6), [6])).toThrow(/must be \[out,in\] or \[out,in,kh,kw\]/);
    expect(() => rgbFiltersSpec(new Float32Array(8), [2, 1, 2, 2])).toThrow(/must be \[out,3,kh,kw\]/);
  });
});

describe('every figure renders within its budget', () => {
  it('keeps every SVG well-formed (parses) and a plain heatmap small', async () => {
    const svg = await renderSvg(maskHeatmapSpec(new Float32Array(84 * 120).fill(0.5), new Float32Array(84 * 120).fill(1), [84, 120], { name: 'fc2' }));
    expect(() => parseSvg(svg)).not.toThrow();
    expect(all(parseSvg(svg), (e) => e.tag === 'path' && e.attrs['aria-label'] !== undefined).length).toBe(84 * 120);
  });
});
