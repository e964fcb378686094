/**
 * The kernel conformance set on navigator.gpu: every case run, judged against the float64 references the
 * Node tests use (packages/tensor/test/reference), and shown as a table row as it completes.
 */
import { runConformance } from '@sparsenet/tensor/conformance';
import { judgeConformance } from '../../packages/tensor/test/reference/conformance.js';
import type { ConformanceRow } from './api.js';

export async function runConformancePanel(table: HTMLTableSectionElement, summary: HTMLElement): Promise<ConformanceRow[]> {
  table.replaceChildren();
  const rows: ConformanceRow[] = [];
  await runConformance({
    onResult: (result, c) => {
      const verdict = judgeConformance(c, result);
      const outputs = Object.fromEntries(Object.entries(result.outputs).map(([name, values]) => [name, Array.from(values)]));
      rows.push({ name: c.name, kernel: c.spec.kernel, status: result.status, passed: verdict.passed, detail: verdict.detail, ms: result.ms, outputs });
      const worst = Math.max(0, ...verdict.outputs.map((o) => o.error / o.bound));
      const tr = table.insertRow();
      tr.className = result.status === 'unsupported' ? 'skip' : verdict.passed ? 'pass' : 'fail';
      const cells = [c.name, result.status === 'unsupported' ? 'unsupported' : verdict.passed ? 'pass' : 'FAIL',
        verdict.outputs.map((o) => `${o.name} ${o.error.toExponential(1)}`).join(', '), `${(100 * worst).toFixed(0)}%`, result.ms.toFixed(0)];
      for (const text of cells) tr.insertCell().textContent = text;
      if (verdict.detail) tr.title = verdict.detail;
      summary.textContent = `${rows.filter((r) => r.passed).length} of ${rows.length} cases pass`;
    },
  });
  const failed = rows.filter((r) => !r.passed).length;
  summary.textContent = `${rows.length - failed} of ${rows.length} cases pass${failed ? `, ${failed} FAIL` : ''} (unsupported variants count as passing)`;
  return rows;
}
