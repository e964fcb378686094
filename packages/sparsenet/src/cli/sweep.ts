#!/usr/bin/env node
/** CLI: npm run sweep -- [flags]; --help lists them with their defaults. */
import { join } from 'node:path';
import { parseSweepArgs, sweepHelp } from '../sweep/config.js';
import { mergeSweep } from '../sweep/parts.js';
import { runSweep, writeFinishedTables } from '../sweep/run.js';
import { SWEEP_OUTPUTS } from '../sweep/table.js';
import { runCli } from './run-cli.js';

runCli(async (argv) => {
  const { config, help } = parseSweepArgs(argv);
  if (help) {
    console.log(sweepHelp());
    return;
  }
  if (config.merge) {
    const { finished, total } = await mergeSweep(config.merge, config.out, { allowPartial: config.allowPartial });
    if (finished < total) console.log(`partial table: ${finished} of ${total} units finished`);
  }
  else if (config.tablesOnly) {
    const { finished, total } = await writeFinishedTables(config);
    console.log(`${finished} of ${total} units finished`);
  } else {
    const run = await runSweep(config);
    if (!run.tablesWritten) {
      console.log(`part ${config.shard.index}/${config.shard.count} finished: ${run.partPath}`);
      return;
    }
  }
  console.log(`sweep tables: ${SWEEP_OUTPUTS.map((f) => join(config.out, f)).join(', ')}`);
});
