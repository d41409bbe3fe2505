/**
 * Export of the current search as a JSON Lines file: pages through the search in the browser with
 * a progress bar, can be cancelled between pages, and says how many entries the file holds.
 */
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Notice, ProgressBar, saveBlob } from '../kit/ui.tsx';
import type { SearchFilter } from './api.ts';
import { ExportCancelled, exportFileName, exportJsonLines } from './export.ts';

type State =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly done: number; readonly total: number }
  | { readonly kind: 'done'; readonly count: number; readonly total: number; readonly file: string }
  | { readonly kind: 'cancelled'; readonly done: number }
  | { readonly kind: 'failed'; readonly error: unknown; readonly done: number };

const EXPORT_MESSAGES: Readonly<Record<string, string>> = {
  validation_failed: 'The export was refused: run the search again (the window may have changed) and export again.',
};

export function ExportPanel({ filter, total }: { filter: SearchFilter; total: number }): JSX.Element {
  const { call } = useConsole();
  const [state, setState] = useState<State>({ kind: 'idle' });
  const cancel = useRef(false);

  const start = async (): Promise<void> => {
    cancel.current = false;
    setState({ kind: 'running', done: 0, total });
    let done = 0;
    try {
      const { blob, count } = await exportJsonLines(
        call,
        filter,
        (d, t) => {
          done = d;
          setState({ kind: 'running', done: d, total: t });
        },
        () => cancel.current,
      );
      const file = exportFileName(filter);
      saveBlob(blob, file);
      setState({ kind: 'done', count, total: count, file });
    } catch (err) {
      setState(err instanceof ExportCancelled ? { kind: 'cancelled', done } : { kind: 'failed', error: err, done });
    }
  };

  return (
    <div class="audit-export" data-testid="export-panel">
      <div class="row">
        <Button testId="export-run" onClick={start} disabled={state.kind === 'running'}>
          Export JSON Lines
        </Button>
        {state.kind === 'running' ? (
          <Button testId="export-cancel" onClick={() => {
              cancel.current = true;
            }}>
            Cancel export
          </Button>
        ) : null}
        <span class="muted">One line per entry of this search, oldest first, with each entry’s hash.</span>
      </div>
      {/* Kept at 100% once done, so the finished state reads the same as the progress did. */}
      {state.kind === 'running' || state.kind === 'done' ? <ProgressBar value={state.kind === 'done' ? state.count : state.done} max={state.total} label="Entries exported" testId="export-progress" /> : null}
      {state.kind === 'done' ? (
        <Notice testId="export-done">
          Exported {state.count} {state.count === 1 ? 'entry' : 'entries'} to {state.file}. The export is recorded in the audit log.
        </Notice>
      ) : null}
      {state.kind === 'cancelled' ? <Notice testId="export-cancelled">Export cancelled after {state.done} entries; no file was saved. Export again when ready.</Notice> : null}
      {state.kind === 'failed' ? (
        <>
          <ErrorNote error={state.error} own={EXPORT_MESSAGES} />
          <p class="muted">No file was saved ({state.done} entries had been read). Export again.</p>
        </>
      ) : null}
    </div>
  );
}
