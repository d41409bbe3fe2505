/** `telehealth config check|docs`: validate the environment; print the settings table. */
import { loadConfig, redactConfig } from '../../core/config/load.ts';
import { settings } from '../../core/config/schema.ts';
import type { Command } from './types.ts';

/** The README's configuration table, generated from the schema so the two never drift. */
export function configTable(): string {
  const rows = Object.values(settings).map((s) => {
    const def = 'default' in s ? `\`${s.default}\`` : '—';
    return `| \`${s.env}\` | ${def} | ${s.doc.replaceAll('|', '\\|')} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export const configCommands: Command[] = [
  {
    words: ['config', 'check'],
    summary: 'validate the configuration and print it (secrets redacted)',
    help: `Usage: telehealth config check

Loads the configuration exactly as start-up does (environment, then CONFIG_FILE), prints it
as JSON with secrets redacted, and exits 0. A problem is reported per variable, exit 2.`,
    run(ctx) {
      const cfg = loadConfig(ctx.env);
      ctx.stdout.write(`${JSON.stringify(redactConfig(cfg), null, 2)}\n`);
      return Promise.resolve(0);
    },
  },
  {
    words: ['config', 'docs'],
    summary: 'print the table of configuration variables (Markdown)',
    help: 'Usage: telehealth config docs\n\nPrints every configuration variable, its default and meaning as a Markdown table.',
    run(ctx) {
      ctx.stdout.write(`${configTable()}\n`);
      return Promise.resolve(0);
    },
  },
];
