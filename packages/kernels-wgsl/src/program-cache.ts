/**
 * Programs built once per key: a kernel whose WGSL depends on flags or sizes builds each specialisation the
 * first time it is asked for and returns the same object after, so the runner's pipeline cache sees one key.
 */
import type { Program } from './runner.js';

const programs = new Map<string, Program>();

/** The program of `key`, built by `build` on first use. Keys are global: prefix them with the kernel's name. */
export function cachedProgram(key: string, build: () => Omit<Program, 'key'>): Program {
  let program = programs.get(key);
  if (!program) {
    program = { key, ...build() };
    programs.set(key, program);
  }
  return program;
}
