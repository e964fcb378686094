/**
 * Colours shared by the figures and the browser page (no Node, no Vega here): viridis, the series palette, the
 * reference grey and the colour of pruned weights.
 */
/** An 8-bit colour: red, green, blue. */
export type RGB = readonly [number, number, number];

/**
 * matplotlib's viridis, its published 256-entry table (CC0, by Nathaniel J. Smith, Stefan van der Walt and
 * Eric Firing) rounded to 8 bits: six hex digits (RRGGBB) per entry, from t = 0 to t = 1.
 */
const VIRIDIS_HEX =
  '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769' +
  '48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a' +
  '472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85' +
  '4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b' +
  '3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d' +
  '33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e' +
  '2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e' +
  '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d' +
  '21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88' +
  '1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81' +
  '28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74' +
  '3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863' +
  '5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d' +
  '84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32' +
  'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a' +
  'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725';

function parseHexTable(hex: string): RGB[] {
  const out: RGB[] = [];
  for (let i = 0; i < hex.length; i += 6) {
    out.push([parseInt(hex.slice(i, i + 2), 16), parseInt(hex.slice(i + 2, i + 4), 16), parseInt(hex.slice(i + 4, i + 6), 16)]);
  }
  return out;
}

/** The 256 viridis entries as 8-bit RGB. */
export const VIRIDIS_TABLE: readonly RGB[] = parseHexTable(VIRIDIS_HEX);

/**
 * The colour of a pruned weight in mask heatmaps: a neutral light grey that no colour map here produces
 * (viridis never has equal channels this light), so a pruned cell is never mistaken for a kept one.
 */
export const PRUNED_RGB: RGB = [200, 200, 200];

/**
 * Okabe and Ito's colour-blind-safe palette (Color Universal Design, 2008) without its yellow (too light on
 * white) and black (kept for reference lines): distinct series colours, in order.
 */
export const PALETTE: readonly RGB[] = [
  [0, 114, 178], [230, 159, 0], [0, 158, 115], [213, 94, 0], [204, 121, 167], [86, 180, 233],
];

/** Reference lines (the dense baseline) and their spread: a dark grey apart from every series colour. */
export const REFERENCE_RGB: RGB = [85, 85, 85];

export function paletteColor(i: number): RGB {
  return PALETTE[i % PALETTE.length];
}

/** '#rrggbb' of a colour, as SVG and Vega take it. */
export function rgbHex(c: RGB): string {
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function lerpRgb(a: RGB, b: RGB, t: number): RGB {
  return [Math.round(a[0] + (b[0] - a[0]) * t), Math.round(a[1] + (b[1] - a[1]) * t), Math.round(a[2] + (b[2] - a[2]) * t)];
}

/** Piecewise-linear lookup in equally spaced knots for t in [0, 1] (clamped; NaN maps to 0). */
function sampleKnots(knots: readonly RGB[], t: number): RGB {
  const u = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) * (knots.length - 1) : 0;
  const i = Math.min(knots.length - 2, Math.floor(u));
  return lerpRgb(knots[i], knots[i + 1], u - i);
}

/** viridis at t in [0, 1]: dark purple (0) through teal to yellow (1), interpolated between table entries. */
export function viridis(t: number): RGB {
  return sampleKnots(VIRIDIS_TABLE, t);
}

/** A kept weight in mask heatmaps: the top of viridis. */
export const KEPT_RGB: RGB = viridis(1);
