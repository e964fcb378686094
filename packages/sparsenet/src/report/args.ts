/** Command-line parsing shared by the report, eval and predict commands: strict flags, errors naming the command. */
import { parseArgs } from 'node:util';

export interface CommandFlag {
  type: 'string' | 'boolean';
  /** Shown in the usage text: '--name VALUE  help'. */
  help: string;
  value?: string;
}

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

export function commandUsage(usage: string, flags: Record<string, CommandFlag>): string {
  const lines = Object.entries(flags).map(([name, f]) => `  ${`--${name}${f.value ? ` ${f.value}` : ''}`.padEnd(24)} ${f.help}`);
  return `usage: ${usage}\n\n${[...lines, `  ${'--help'.padEnd(24)} this text`].join('\n')}`;
}

/** Parses argv against `flags`; an unknown flag or a missing value throws `<command>: <problem>` and the usage. */
export function parseCommand(command: string, argv: string[], usage: string, flags: Record<string, CommandFlag>): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedCommand['values'], positionals, help: Boolean(values.help) };
  } catch (error) {
    throw new Error(`${command}: ${(error as Error).message}\n\n${commandUsage(usage, flags)}`);
  }
}
