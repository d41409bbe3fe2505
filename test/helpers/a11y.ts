/**
 * Accessibility checks with axe-core (the library every accessibility audit tool builds on):
 * injected into a page opened in a context that bypasses the page's CSP (axe is injected as an
 * inline script, which the product's CSP rightly refuses), run against WCAG 2.1 A/AA rules, and
 * reduced to the violations that matter for the assertion: serious and critical ones.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface A11yViolation {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly targets: readonly string[];
}

/** Serious and critical WCAG 2.1 A/AA violations on the page as it is now (empty when clean). */
export async function a11yViolations(page: Page): Promise<A11yViolation[]> {
  if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.addScriptTag({ content: await AXE_SOURCE });
  const result = await page.evaluate<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }>(
    `window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`,
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}
