#!/usr/bin/env node
/** CLI: npm run train -- [flags]; --help lists them with their defaults. */
import { parseTrainArgs, trainHelp } from '../train/config.js';
import { train } from '../train/trainer.js';
import { runCli } from './run-cli.js';

runCli(async (argv) => {
  const { config, help } = parseTrainArgs(argv);
  if (help) {
    console.log(trainHelp());
    return;
  }
  const { final, outDir } = await train(config);
  console.log(
    `test accuracy ${final.testAccuracy.toFixed(4)}, balanced accuracy ${final.testBalancedAccuracy.toFixed(4)}, ` +
      `test loss ${final.testLoss.toFixed(4)}, sparsity ${final.sparsity.toFixed(3)}, ${(final.trainSeconds / 60).toFixed(1)} min of training on ${final.device}\n` +
      `run folder: ${outDir} (report.html, metrics.csv, final.safetensors, best.safetensors)`,
  );
});
