/** Number and label formatting shared by the figures and the report. */

/** A fraction as a percentage: formatPercent(0.4567, 1) = '45.7%'. */
export function formatPercent(fraction: number, decimals = 1): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(decimals)}%` : '-';
}

/** A shape as '[out,in,kh,kw]'. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A metric value for tables: integers as they are, others with 4 significant digits; '-' when missing. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '-' : String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

/** Words for the parts of metric names that code abbreviates. */
const WORDS: Record<string, string> = { val: 'validation', acc: 'accuracy', lr: 'learning rate' };

/**
 * A code name as words a reader expects: 'valBalancedAccuracy' -> 'validation balanced accuracy',
 * 'sparsity_conv1' -> 'sparsity conv1', 'imagesPerSecond' -> 'images per second'.
 */
export function humanLabel(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_]+/)
    .filter(Boolean)
    .map((w) => WORDS[w.toLowerCase()] ?? w.toLowerCase())
    .join(' ');
}
