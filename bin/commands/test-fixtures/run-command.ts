/**
 * Runs a `telehealth` command in-process, the way bin/cli.ts dispatches it, and captures what it
 * printed. For command tests.
 */
import { PassThrough } from 'node:stream';
import type { Command } from '../types.ts';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCommand(commands: readonly Command[], argv: readonly string[], env: Readonly<Record<string, string | undefined>>, interactive = false): Promise<Ran> {
  const cmd = commands.find((c) => c.words.every((w, i) => argv[i] === w));
  if (!cmd) throw new Error(`no command for ${argv.join(' ')}`);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await cmd.run({ argv: argv.slice(cmd.words.length), stdout, stderr, env, interactive });
  return { code, stdout: out, stderr: err };
}
