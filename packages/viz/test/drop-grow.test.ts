/** The drop/grow figure read back: one panel per layer, a point per (layer, update, series) with its count, human labels. */
import { describe, expect, it } from 'vitest';
import { dropGrowSpec, PALETTE, renderSvg, svgToPng } from '@sparsenet/viz';
import { CAMEL_CASE, countNear, decode, markLabels, parseSvg, texts } from './svg.js';

describe('drop/grow per mask update', () => {
  it('draws every layer in its own panel, dropped and grown per update, with human labels', async () => {
    const updates = [10, 20, 30, 40].map((step, k) => ({
      step,
      layers: [
        { name: 'conv1', dropped: 40 - 8 * k, grown: 30 - 7 * k },
        { name: 'fc1', dropped: 5000 - 1000 * k, grown: 4100 - 900 * k },
        { name: 'fc3', dropped: 12 - 3 * k, grown: 12 - 3 * k },
      ],
    }));
    const svg = await renderSvg(dropGrowSpec(updates, { subtitle: 'RigL' }));
    const root = parseSvg(svg);
    const labels = markLabels(root);
    const expected = updates.flatMap((u) => u.layers.flatMap((l) => [`${l.name}, step ${u.step}: ${l.dropped} dropped`, `${l.name}, step ${u.step}: ${l.grown} grown`]));
    expect([...labels].sort()).toEqual([...expected].sort());
    const shown = texts(root);
    for (const t of ['Weights dropped and grown per mask update', 'RigL', 'conv1', 'fc1', 'fc3', 'training step', 'weights', 'dropped (smallest |w|)', 'grown (new weights)']) expect(shown).toContain(t);
    for (const t of shown) expect(t, `label '${t}'`).not.toMatch(CAMEL_CASE);
    const png = decode(svgToPng(svg));
    expect(countNear(png, PALETTE[0], 6)).toBeGreaterThan(100);
    expect(countNear(png, PALETTE[1], 6)).toBeGreaterThan(100);
  });

  it('refuses counts that cannot be (grown above dropped, fractions), naming the layer and the step', () => {
    expect(() => dropGrowSpec([{ step: 5, layers: [{ name: 'fc2', dropped: 3, grown: 4 }] }])).toThrow(/layer fc2 at step 5: dropped 3, grown 4/);
    expect(() => dropGrowSpec([{ step: 5, layers: [{ name: 'fc2', dropped: 2.5, grown: 1 }] }])).toThrow(/layer fc2 at step 5/);
  });
});
