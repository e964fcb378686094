#!/usr/bin/env node
/** CLI: npm run report -- RUN_DIR | SWEEP_CSV [--format svg,png]: a run folder's figures and report.html, or a sweep's trade-off figures. */
import { reportCommand } from '../report/run-report.js';
import { runCli } from './run-cli.js';

runCli((argv) => reportCommand(argv, console.log));
