#!/usr/bin/env node
/** CLI: npm run compact -- --checkpoint FILE --out FILE. */
import { compactCommand } from '../report/compact-checkpoint.js';
import { runCli } from './run-cli.js';

runCli((argv) => compactCommand(argv, console.log));
