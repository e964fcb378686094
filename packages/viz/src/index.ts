/**
 * @sparsenet/viz: every figure is one spec function (data in, a Vega-Lite spec out: curvesSpec, tradeoffSpec,
 * sparsityBarsSpec, sensitivitySpec, confusionSpec, maskHeatmapSpec, filterGridSpec, rgbFiltersSpec). writeFigure renders a spec
 * to SVG (Vega, headless) and PNG (resvg at 2x, bundled DejaVu Sans, no system fonts) and returns the SVG, which
 * a report shows inline as a ReportFigure. A new figure (drop/regrow, per model) is a new spec
 * function in its own file: figureFrame for the title and size, PALETTE for series, a `description` field on
 * the marks for their ARIA labels (the tests read values back from them).
 */
export * from './colormap.js';
export * from './format.js';
export * from './theme.js';
export * from './render.js';
export * from './tiling.js';
export * from './heatmap.js';
export * from './filters.js';
export * from './bars.js';
export * from './curves.js';
export * from './tradeoff.js';
export * from './drop-grow.js';
export * from './sensitivity.js';
export * from './confusion.js';
export * from './write.js';
export * from './report.js';
