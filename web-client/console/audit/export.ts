/**
 * Export of a search as JSON Lines, built in the browser: the gateway has no export format over
 * HTTP, so this pages through GET /audit/search oldest first, bounded by the head the first page
 * saw (the export's own reads are appended meanwhile and must not chase it), one event per line
 * exactly as the gateway gave it, `prevHash` and `hash` included so the slice can be matched
 * against the chain. The caller shows progress and may cancel between pages.
 */
import type { ConsoleContextValue } from '../kit/session.ts';
import { searchAudit, type SearchFilter } from './api.ts';

const PAGE = 500;

export class ExportCancelled extends Error {
  constructor() {
    super('export cancelled');
    this.name = 'ExportCancelled';
  }
}

export async function exportJsonLines(
  call: ConsoleContextValue['call'],
  filter: SearchFilter,
  onProgress: (done: number, total: number) => void,
  cancelled: () => boolean,
): Promise<{ blob: Blob; count: number }> {
  const lines: string[] = [];
  let page = await searchAudit(call, filter, { order: 'asc', limit: PAGE });
  const total = page.total ?? page.events.length;
  const until = page.until;
  for (;;) {
    for (const e of page.events) lines.push(`${JSON.stringify(e)}\n`);
    onProgress(lines.length, Math.max(total, lines.length));
    if (page.next === null) break;
    if (cancelled()) throw new ExportCancelled();
    page = await searchAudit(call, filter, { order: 'asc', limit: PAGE, after: page.next, until });
  }
  return { blob: new Blob(lines, { type: 'application/x-ndjson' }), count: lines.length };
}

/** A file name with the window only (no ids: a patient id in a file name travels too far). */
export function exportFileName(filter: SearchFilter): string {
  const stamp = (d: Date): string => d.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return `audit-${stamp(filter.from)}-to-${stamp(filter.to)}.jsonl`;
}
