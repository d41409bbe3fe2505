import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configTable } from '../bin/commands/config.ts';

describe('README', () => {
  it('documents every configuration variable exactly as the schema defines it', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
    const m = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(m?.[1], 'regenerate with `npx telehealth config docs`').toBe(configTable());
  });
});
