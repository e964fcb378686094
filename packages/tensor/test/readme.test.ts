/**
 * The README's library example runs as written: its ```ts block under "## The library" is saved as a module
 * (under node_modules/.cache, so that '@sparsenet/tensor' resolves as it would for a user) and run by Node.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('README', () => {
  it('the library example runs and prints a finite loss', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The library'));
    const match = /```ts\n([\s\S]*?)```/.exec(section);
    expect(match, 'a ```ts block under ## The library').not.toBeNull();
    const dir = join(root, 'node_modules', '.cache', 'sparsenet-readme');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'library-example.mjs');
    writeFileSync(file, match![1]);
    const output = execFileSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    const loss = Number(output.trim().split('\n').at(-1));
    expect(Number.isFinite(loss), `printed: ${output}`).toBe(true);
    // Seven classes and weights near zero: the loss starts near ln 7.
    expect(Math.abs(loss - Math.log(7))).toBeLessThan(0.5);
  });
});
