#!/usr/bin/env node
/** CLI: npm run report -- RUN_DIR; rebuilds the run folder's figures/ and report.html. */
import { reportCommand } from '../report/run-report.js';
import { runCli } from './run-cli.js';

runCli((argv) => reportCommand(argv, console.log));
