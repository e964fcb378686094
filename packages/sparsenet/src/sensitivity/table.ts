/** A sensitivity analysis as a CSV (one row per measurement, the unpruned model first), markdown and plan curves. */
import type { LayerCurve, TargetPlan } from './plan.js';
import { dropAt } from './plan.js';
import type { SensitivityResult } from './measure.js';

/** The unpruned model's row in the CSV: layer '(unpruned)', method 'none', sparsity 0, weights and zeros empty. */
export const UNPRUNED = '(unpruned)';

export function sensitivityCsv(result: SensitivityResult): string {
  const header = 'layer,method,sparsity,weights,zeros,accuracy,balanced_accuracy,loss,accuracy_drop';
  const { dense } = result;
  const lines = [`${UNPRUNED},none,0,,,${dense.accuracy},${dense.balancedAccuracy},${dense.loss},0`];
  for (const r of result.rows) lines.push([r.layer, r.method, r.sparsity, r.weights, r.zeros, r.accuracy, r.balancedAccuracy, r.loss, dense.accuracy - r.accuracy].join(','));
  return `${header}\n${lines.join('\n')}\n`;
}

/** The magnitude rows as curves of accuracy drop against sparsity, one per layer (the plan's input). */
export function sensitivityCurves(result: SensitivityResult): LayerCurve[] {
  const rows = result.rows.filter((r) => r.method === 'magnitude');
  const names = [...new Set(rows.map((r) => r.layer))];
  return names.map((name) => {
    const own = rows.filter((r) => r.layer === name);
    return { name, size: own[0].weights, points: own.map((r) => ({ sparsity: r.sparsity, drop: result.dense.accuracy - r.accuracy })) };
  });
}

const pct = (v: number) => `${(v * 100).toFixed(v * 100 === Math.round(v * 100) ? 0 : 1)}%`;
const signed = (v: number) => `${v > 0 ? '−' : v < 0 ? '+' : '±'}${Math.abs(v).toFixed(3)}`;

/**
 * Markdown: `heading` lines, then per method a table of accuracy (and its change from the unpruned model) for each
 * layer at each sparsity; with `plan`, the plan's table.
 */
export function sensitivityMarkdown(result: SensitivityResult, heading: readonly string[], plan?: { target: number; result: TargetPlan; curves: LayerCurve[] }): string {
  const out = [...heading, '', `Unpruned: accuracy ${result.dense.accuracy.toFixed(4)}, balanced accuracy ${result.dense.balancedAccuracy.toFixed(4)}, loss ${result.dense.loss.toFixed(4)}.`, ''];
  for (const method of [...new Set(result.rows.map((r) => r.method))]) {
    const rows = result.rows.filter((r) => r.method === method);
    const sparsities = [...new Set(rows.map((r) => r.sparsity))];
    const what = method === 'magnitude' ? "the layer's weights, smallest |w| first" : `the ${method} of the layer or channel group, smallest L1 norm first`;
    out.push(`Pruned alone (${method}: the fraction of ${what}), accuracy (change from unpruned):`, '');
    out.push(`| layer | weights | ${sparsities.map(pct).join(' | ')} |`, `| --- | ---: | ${sparsities.map(() => '---:').join(' | ')} |`);
    for (const layer of [...new Set(rows.map((r) => r.layer))]) {
      const own = rows.filter((r) => r.layer === layer);
      out.push(`| ${layer} | ${own[0].weights} | ${sparsities.map((s) => own.find((r) => r.sparsity === s)).map((r) => (r ? `${r.accuracy.toFixed(3)} (${signed(result.dense.accuracy - r.accuracy)})` : '–')).join(' | ')} |`);
    }
    out.push('');
  }
  if (plan) {
    const { result: p, curves } = plan;
    out.push(
      `Plan for an overall sparsity of ${plan.target} (shared drop tolerance: each layer as sparse as it gets before its accuracy drop, linear between measured points, first exceeds t; t = ${p.tolerance.toFixed(4)} is the smallest tolerance reaching the target): overall ${p.overall.toFixed(4)}.`,
      '',
      '| layer | weights | planned sparsity | accuracy drop there (interpolated) |',
      '| --- | ---: | ---: | ---: |',
      ...curves.map((c) => `| ${c.name} | ${c.size} | ${p.plan[c.name].toFixed(4)} | ${dropAt(c, p.plan[c.name]).toFixed(4)} |`),
      '',
    );
  }
  return `${out.join('\n')}\n`;
}
