/** Confusion matrix: counts per (true, predicted) class, coloured by the share of the true class. */
import { formatPercent } from './format.js';
import type { FigureSpec } from './render.js';
import { figureFrame, type FigureSize } from './theme.js';

export interface ConfusionOptions extends FigureSize {
  title?: string;
}

function checkCounts(counts: readonly (readonly number[])[], classNames: readonly string[]): void {
  const n = classNames.length;
  if (n === 0 || counts.length !== n || counts.some((row) => row.length !== n)) {
    const rows = counts.map((r) => r.length).join(',');
    throw new Error(`confusionSpec: counts must be ${n}x${n} for ${n} class names; got rows of [${rows}]`);
  }
}

/**
 * Rows are true classes, columns predictions; each cell shows its count and is coloured by viridis of count /
 * row total. The title gives n, accuracy and balanced accuracy; ARIA 'true <a>, predicted <b>: <count> (<share>)'.
 */
export function confusionSpec(counts: readonly (readonly number[])[], classNames: readonly string[], options: ConfusionOptions = {}): FigureSpec {
  checkCounts(counts, classNames);
  let total = 0;
  let correct = 0;
  let recallSum = 0;
  const values = counts.flatMap((row, r) => {
    const rowSum = row.reduce((a, b) => a + b, 0);
    total += rowSum;
    correct += row[r];
    recallSum += rowSum > 0 ? row[r] / rowSum : 0;
    return row.map((count, c) => {
      const share = rowSum > 0 ? count / rowSum : 0;
      return { truth: classNames[r], predicted: classNames[c], count, share, description: `true ${classNames[r]}, predicted ${classNames[c]}: ${count} (${share} of the row)` };
    });
  });
  const title = options.title ?? 'Confusion matrix (test)';
  const subtitle = `n = ${total}, accuracy ${formatPercent(correct / Math.max(1, total))}, balanced accuracy ${formatPercent(recallSum / classNames.length)}`;
  const x = { field: 'predicted', type: 'ordinal', title: 'predicted class', sort: classNames, axis: { labelAngle: 0, orient: 'bottom' } };
  const y = { field: 'truth', type: 'ordinal', title: 'true class', sort: classNames };
  return {
    ...figureFrame(title, options, { width: 560, height: 500 }, subtitle),
    data: { values },
    encoding: { x, y },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: { field: 'share', type: 'quantitative', title: 'share of row', scale: { scheme: 'viridis', domain: [0, 1] }, legend: { format: '.0%' } },
          description: { field: 'description' },
        },
      },
      {
        mark: { type: 'text', fontSize: 12, aria: false },
        // Dark text on the light (yellow-green) end of viridis, white on the dark end.
        encoding: { text: { field: 'count' }, color: { condition: { test: 'datum.share > 0.6', value: '#111' }, value: '#fff' } },
      },
    ],
  };
}
