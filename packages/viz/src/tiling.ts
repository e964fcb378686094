/**
 * A grid of tiles, each a block of square cells, with a gap between tiles: the picture of conv weights
 * [out, in, kh, kw] (out x in tiles of kh x kw cells) or of a matrix (tiles of one cell and no gap).
 */
import type { Rect } from './canvas.js';

export interface Tiling {
  /** Tiles down and across. */
  rows: number;
  cols: number;
  /** Cells per tile, down and across. */
  tileRows: number;
  tileCols: number;
  /** Side of a cell and width of the gap between tiles, in pixels. */
  cellPx: number;
  gapPx: number;
}

/** The gap between tiles of cells of `cellPx`: 1 px, widening for large cells so tiles stay apart. */
export function tileGap(cellPx: number): number {
  return Math.max(1, Math.round(cellPx / 4));
}

/** Pixel size of a tiling. */
export function tilingSize(t: Tiling): { width: number; height: number } {
  return {
    width: t.cols * t.tileCols * t.cellPx + (t.cols - 1) * t.gapPx,
    height: t.rows * t.tileRows * t.cellPx + (t.rows - 1) * t.gapPx,
  };
}

/**
 * The largest tiling of rows x cols tiles (gapped by tileGap when `gapped`) whose cells are at most
 * `maxCellPx` and which fits in `area`; null when even 1-px cells do not fit.
 */
export function fitTiling(
  rows: number,
  cols: number,
  tileRows: number,
  tileCols: number,
  gapped: boolean,
  area: { width: number; height: number },
  maxCellPx = 64,
): Tiling | null {
  for (let cellPx = maxCellPx; cellPx >= 1; cellPx--) {
    const t: Tiling = { rows, cols, tileRows, tileCols, cellPx, gapPx: gapped ? tileGap(cellPx) : 0 };
    const size = tilingSize(t);
    if (size.width <= area.width && size.height <= area.height) return t;
  }
  return null;
}

/** Pixel rectangle of cell (cellRow, cellCol) of tile (row, col) for a tiling drawn at (x, y). */
export function tileCellRect(t: Tiling, x: number, y: number, row: number, col: number, cellRow = 0, cellCol = 0): Rect {
  return {
    x: x + col * (t.tileCols * t.cellPx + t.gapPx) + cellCol * t.cellPx,
    y: y + row * (t.tileRows * t.cellPx + t.gapPx) + cellRow * t.cellPx,
    width: t.cellPx,
    height: t.cellPx,
  };
}
