#!/usr/bin/env node
/** CLI: npm run eval -- --checkpoint FILE [--data DIR] [--split test|val|train|all] [--split-file FILE] [--json FILE]. */
import { evalCommand } from '../report/evaluate-checkpoint.js';
import { runCli } from './run-cli.js';

runCli((argv) => evalCommand(argv, console.log));
