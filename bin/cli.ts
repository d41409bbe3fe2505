/**
 * `telehealth` command dispatcher. Each folder owns its commands (bin/commands/*); this file only
 * matches words, prints help, and turns operator-fixable errors into a message and exit code 2.
 */
import { StartupError } from '../core/errors.ts';
import { adminCommands } from './commands/admin.ts';
import { auditCommands } from './commands/audit.ts';
import { backupCommands } from './commands/backup.ts';
import { chatCommands } from './commands/chat.ts';
import { configCommands } from './commands/config.ts';
import { dbCommands } from './commands/db.ts';
import { keysCommands } from './commands/keys.ts';
import { messengerCommands } from './commands/messenger.ts';
import { patientCommands } from './commands/patient.ts';
import { serverCommands } from './commands/server.ts';
import { workerCommands } from './commands/worker.ts';
import { campaignCommands } from './commands/campaign.ts';
import type { Command, CommandContext } from './commands/types.ts';

export const COMMANDS: readonly Command[] = [...serverCommands, ...workerCommands, ...dbCommands, ...adminCommands, ...patientCommands, ...keysCommands, ...auditCommands, ...backupCommands, ...configCommands, ...chatCommands, ...messengerCommands, ...campaignCommands];

export const EXIT_USAGE = 2;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  const lines = COMMANDS.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`);
  return [
    'telehealth — secure patient messaging and telehealth video gateway',
    '',
    'Usage: telehealth <command> [options]',
    '       telehealth <command> --help',
    '',
    'Commands:',
    ...lines,
    '',
    'Configuration comes from environment variables (and CONFIG_FILE); `telehealth config docs` lists them.',
    '',
  ].join('\n');
}

/** Longest match of argv's leading words against the command table. */
function match(argv: readonly string[]): { cmd: Command; rest: readonly string[] } | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.words.every((w, i) => argv[i] === w) && (!best || c.words.length > best.words.length)) best = c;
  }
  return best ? { cmd: best, rest: argv.slice(best.words.length) } : undefined;
}

export async function runCli(ctx: CommandContext): Promise<number> {
  const argv = ctx.argv;
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    ctx.stdout.write(overview());
    return argv.length === 0 ? EXIT_USAGE : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default;
    ctx.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const found = match(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.words[0] === argv[0]);
    ctx.stderr.write(`telehealth: unknown command "${argv.join(' ').slice(0, 80)}"\n`);
    if (group.length > 0) ctx.stderr.write(`Did you mean: ${group.map((c) => `telehealth ${c.words.join(' ')}`).join(', ')}?\n`);
    ctx.stderr.write('Run `telehealth --help` for the list of commands.\n');
    return EXIT_USAGE;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    ctx.stdout.write(found.cmd.help.endsWith('\n') ? found.cmd.help : `${found.cmd.help}\n`);
    return 0;
  }
  try {
    return await found.cmd.run({ ...ctx, argv: found.rest });
  } catch (err) {
    if (err instanceof StartupError) {
      ctx.stderr.write(`telehealth: ${err.message}\n`);
      if (err.hint) ctx.stderr.write(`${err.hint}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof TypeError && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      ctx.stderr.write(`telehealth ${found.cmd.words.join(' ')}: ${err.message}\nRun \`telehealth ${found.cmd.words.join(' ')} --help\`.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

if (import.meta.main) {
  const code = await runCli({
    argv: process.argv.slice(2),
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    interactive: process.stderr.isTTY,
  });
  process.exitCode = code;
}
