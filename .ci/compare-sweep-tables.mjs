// Compares two sweep.csv files in every column but timing (which differs run to run); exits 1 naming the first
// difference. Used by .ci/cluster-test to check a merged Slurm sweep against the same sweep run unsharded.
import { readFileSync } from 'node:fs';

const TIMING = new Set(['ms_per_image', 'sparse_ms_per_image', 'compact_ms_per_image', 'train_seconds']);
const [a, b] = process.argv.slice(2);
const read = (file) => readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(','));
const [left, right] = [read(a), read(b)];
const header = left[0];
if (header.join() !== right[0].join()) throw new Error(`columns differ:\n${header}\n${right[0]}`);
if (left.length !== right.length) throw new Error(`${a} has ${left.length - 1} rows, ${b} has ${right.length - 1}`);
let compared = 0;
for (let r = 1; r < left.length; r++) {
  for (const [c, name] of header.entries()) {
    if (TIMING.has(name)) continue;
    if (left[r][c] !== right[r][c]) {
      console.error(`compare-sweep-tables: row ${r} (${left[r][header.indexOf('unit')]}), column ${name}: ${left[r][c]} vs ${right[r][c]}`);
      process.exit(1);
    }
    compared++;
  }
}
console.log(`compare-sweep-tables: ${left.length - 1} units equal in ${compared} values (timing columns left out)`);
