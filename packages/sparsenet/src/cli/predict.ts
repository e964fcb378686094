#!/usr/bin/env node
/** CLI: npm run predict -- --checkpoint FILE IMAGE.jpg...; class probabilities per image. */
import { predictCommand } from '../report/predict.js';
import { runCli } from './run-cli.js';

runCli((argv) => predictCommand(argv, console.log));
