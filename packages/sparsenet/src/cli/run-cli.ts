/**
 * How every CLI ends: an error prints its message (which names the op, flag or file) and exits 1; with
 * SPARSENET_DEBUG=1 it prints the stack too. process.exit also ends Dawn's event loop, which would otherwise
 * keep the process alive.
 */
export function runCli(main: (argv: string[]) => Promise<void> | void): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      process.stderr.write(`${process.env.SPARSENET_DEBUG === '1' ? (err.stack ?? err.message) : err.message}\n`);
      process.exit(1);
    });
}
