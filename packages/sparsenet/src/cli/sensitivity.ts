#!/usr/bin/env node
/** CLI: npm run sensitivity -- RUN_DIR [--structure filters] [--sparsities ...] [--target 0.9] [--out DIR]. */
import { sensitivityCommand } from '../sensitivity/command.js';
import { runCli } from './run-cli.js';

runCli(async (argv) => {
  await sensitivityCommand(argv, console.log);
});
