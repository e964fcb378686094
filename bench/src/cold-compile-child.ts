/**
 * Child process of the bench's cold-compile section (cold-compile.ts), run with an empty MESA_SHADER_CACHE_DIR:
 * makes ready every program a default LeNet training run can use (its training and evaluation shapes under
 * every variant the tuner may pick), either one after another, timing each first use, or all at once through
 * runner.precompile with a compile helper device where the adapter takes one; prints one JSON line.
 */
import { DEFAULT_TRAIN_CONFIG, LeNet, loadSplits, runPrograms, runShapesOf } from '@sparsenet/sparsenet';
import { getDevice, optim, runtime, useCompileHelper, type Program } from '@sparsenet/tensor';
import * as k from '@sparsenet/kernels-wgsl';

export interface FirstUse {
  key: string;
  ms: number;
  /** CPU milliseconds of the whole process (every thread: the driver compiles on its own) over the same span. */
  cpuMs: number;
}

export interface ColdCompileReport {
  mode: 'one-by-one' | 'together';
  /** Compile helper devices beside the runner's (together only; see useCompileHelper). */
  helpers: number;
  programs: number;
  /** One entry per program, one-by-one only. */
  firstUses: FirstUse[];
  wallMs: number;
  cpuMs: number;
}

async function main(mode: ColdCompileReport['mode'], allVariants: boolean): Promise<void> {
  await getDevice();
  const { runner } = runtime();
  const data = await loadSplits({ split: { seed: DEFAULT_TRAIN_CONFIG.seed } });
  const model = new LeNet({ seed: 0 });
  const run = runShapesOf(model, () => new optim.Adam(model.parametersWithMasks(), { lr: DEFAULT_TRAIN_CONFIG.lr }), data, DEFAULT_TRAIN_CONFIG);
  // Each variant of each tuned kernel forced in turn (round-robin), or only the untuned heuristic's picks.
  const matmuls = k.matmulVariants(runner.device);
  const convs = k.CONV2D_FORWARD_VARIANTS;
  const rounds = allVariants ? Math.max(matmuls.length, convs.length) : 1;
  const programs = new Map<string, Program>();
  for (let i = 0; i < rounds; i++) {
    runner.tuner.force(allVariants ? { matmul: matmuls[i % matmuls.length], conv2d: convs[i % convs.length] } : {});
    for (const p of runPrograms(run)) programs.set(p.key, p);
  }
  const firstUses: FirstUse[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const helpers = mode === 'together' && (await useCompileHelper()) ? runner.compileHelpers.length : 0;
  if (mode === 'together') await runner.precompile([...programs.values()]);
  else {
    for (const program of programs.values()) {
      const [cpu, t] = [process.cpuUsage(), performance.now()];
      await runner.precompile([program]);
      const used = process.cpuUsage(cpu);
      firstUses.push({ key: program.key, ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 });
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const report: ColdCompileReport = { mode, helpers, programs: programs.size, firstUses, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main(process.argv[2] === 'together' ? 'together' : 'one-by-one', process.argv[3] !== 'heuristic')
  // process.exit also ends Dawn's event loop, which would otherwise keep the process alive.
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
