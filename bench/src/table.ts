/**
 * The bench's one table: rows gathered by every section, printed as they come (a long run shows progress)
 * and written with --json. A row's `fraction` is its value over a reference named in `of` (a ceiling, the
 * best matmul, a peer); JSON rows also carry the section's raw numbers in `data`.
 */

export interface Row {
  section: string;
  name: string;
  value: number | null;
  unit: string;
  fraction?: number;
  of?: string;
  note?: string;
  data?: Record<string, unknown>;
}

/** One per LeNet workload, in the form the issue fixes for tracking (plus the other peers' numbers). */
export interface WorkloadRow {
  workload: 'train' | 'infer';
  batch: number;
  sparsenet: number;
  tfjs: number | null;
  ratio: number | null;
  [peer: string]: unknown;
}

const WIDTHS = [10, 44, 10, 8, 18];

export class Table {
  readonly rows: Row[] = [];
  readonly workloads: WorkloadRow[] = [];
  private headerPrinted = false;

  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  add(row: Row): Row {
    if (!this.headerPrinted) {
      this.headerPrinted = true;
      this.write(formatLine(['section', 'item', 'value', 'unit', 'fraction', 'note']));
      this.write('-'.repeat(WIDTHS.reduce((a, b) => a + b + 1, 0) + 30));
    }
    this.rows.push(row);
    const fraction = row.fraction === undefined ? '' : `${formatPercent(row.fraction)}${row.of ? ` of ${row.of}` : ''}`;
    this.write(formatLine([row.section, row.name, row.value === null ? '-' : formatNumber(row.value), row.unit, fraction, row.note ?? '']));
    return row;
  }

  /** A line outside the table (notes, section headers). */
  note(text: string): void {
    this.write(text);
  }

  addWorkload(row: WorkloadRow): void {
    this.workloads.push(row);
  }
}

function formatLine(cells: string[]): string {
  return cells.map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i]) : c)).join(' ').trimEnd();
}

/** Three significant digits, no exponent for the sizes the bench meets. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function formatPercent(f: number): string {
  return `${(100 * f).toFixed(f < 0.1 ? 1 : 0)}%`;
}
