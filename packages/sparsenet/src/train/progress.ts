/**
 * Progress of long work: on a terminal one line redrawn in place (a bar, loss, accuracy, images/s); elsewhere
 * (CI logs, pipes) a plain line now and then. Values come from the caller, which reads them back from the GPU
 * only when a redraw is due, so progress never adds a per-step synchronisation.
 */
export interface ProgressValues {
  [name: string]: number | string;
}

export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /**
     * Milliseconds between redraws, each a readback: on a terminal every 2 s (a training step takes a few
     * hundred ms on a CPU driver, so a shorter interval would synchronise nearly every step), in a log every 10 s.
     */
    private readonly interval = stream.isTTY ? 2_000 : 10_000,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** True when a redraw is due: read values back only then. */
  due(done: number): boolean {
    return done === this.total || performance.now() - this.lastDraw >= this.interval;
  }

  update(done: number, values: ProgressValues): void {
    this.lastDraw = performance.now();
    const fraction = this.total ? done / this.total : 1;
    const parts = Object.entries(values).map(([k, v]) => `${k} ${typeof v === 'number' ? format(v) : v}`);
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = fraction > 0 ? elapsed / fraction - elapsed : NaN;
    const head = `${this.label} ${String(done).padStart(String(this.total).length)}/${this.total}`;
    const tail = `${parts.join('  ')}  ${elapsed.toFixed(0)}s${done < this.total && Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : ''}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(fraction * width);
      this.stream.write(`\r\x1b[2K${head} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`);
    } else this.stream.write(`${head} ${tail}\n`);
  }

  /** Ends the bar's line on a terminal. */
  done(): void {
    if (this.tty) this.stream.write('\n');
  }
}

function format(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3);
}
