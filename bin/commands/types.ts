/**
 * The contract every `telehealth <command>` module implements. Commands get their streams and
 * environment injected (tests run them in-process), return an exit code, and throw
 * StartupError/ConfigError for operator-fixable problems (printed without a stack).
 */
import type { Writable } from 'node:stream';

export interface CommandContext {
  /** Arguments after the command words, e.g. for `telehealth audit verify --json` → ['--json']. */
  readonly argv: readonly string[];
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when stderr is a terminal: show progress bars. */
  readonly interactive: boolean;
}

export interface Command {
  /** Words that select it, e.g. ['audit', 'verify']. */
  readonly words: readonly string[];
  /** One line for `telehealth --help`. */
  readonly summary: string;
  /** Full text for `telehealth <words> --help`: usage, options, exit codes, examples. */
  readonly help: string;
  run(ctx: CommandContext): Promise<number>;
}
