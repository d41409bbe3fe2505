/**
 * Audit search: a time window (default the last 24 hours), an action from the closed vocabulary,
 * an actor id, a patient id and the break-glass flag; results newest first, a page at a time,
 * pages bounded by the head the first page saw (so reading them — itself audited — never shifts
 * them); and the current search exported as JSON Lines. Ids only: the log holds no names.
 */
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Field, Table, useLoad } from '../kit/ui.tsx';
import { listActions, searchAudit, type AuditEvent, type SearchFilter, type SearchPage } from './api.ts';
import { ExportPanel } from './export-panel.tsx';
import { groupActions } from './families.ts';
import { formatDetails, formatSeconds } from './format.ts';
import { initialWindow, resolveWindow, WindowFields, type WindowValue } from './time-window.tsx';

const PAGE_SIZE = 50;
const ID_MAX = 128;

export const SEARCH_MESSAGES: Readonly<Record<string, string>> = {
  validation_failed: 'The search was refused: correct the marked fields. The window must run forward and span at most a year.',
};

interface Results {
  /** Which search this is (a new search starts a new export panel). */
  readonly id: number;
  readonly filter: SearchFilter;
  readonly page: SearchPage;
  /** `after` of each page shown so far (undefined for the first): Newer goes back one. */
  readonly cursors: readonly (number | undefined)[];
  readonly until: number;
  readonly total: number;
}

export function AuditSearchView(): JSX.Element {
  const { call } = useConsole();
  const vocabulary = useLoad(() => listActions(call), []);
  const [win, setWin] = useState<WindowValue>(initialWindow);
  const [action, setAction] = useState('');
  const [actorId, setActorId] = useState('');
  const [patientId, setPatientId] = useState('');
  const [flaggedOnly, setFlaggedOnly] = useState(false);
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Results | undefined>(undefined);
  const latest = useRef(0);

  /** Runs one request; an answer that arrives after a newer request started is dropped. */
  const run = async (load: () => Promise<Results>): Promise<void> => {
    const ticket = ++latest.current;
    setBusy(true);
    try {
      const r = await load();
      if (ticket !== latest.current) return;
      setResults(r);
      setError(undefined);
      setProblems({});
    } catch (err) {
      if (ticket !== latest.current) return;
      setError(err);
      setProblems(fieldProblems(err));
    } finally {
      if (ticket === latest.current) setBusy(false);
    }
  };

  const submit = (ev: Event): void => {
    ev.preventDefault();
    const resolved = resolveWindow(win);
    if ('problems' in resolved) {
      setProblems(resolved.problems);
      setError(undefined);
      return;
    }
    const filter: SearchFilter = {
      ...resolved.window,
      ...(action === '' ? {} : { action }),
      ...(actorId.trim() === '' ? {} : { actorId: actorId.trim() }),
      ...(patientId.trim() === '' ? {} : { patientId: patientId.trim() }),
      breakGlassOnly: flaggedOnly,
    };
    void run(async () => {
      const page = await searchAudit(call, filter, { order: 'desc', limit: PAGE_SIZE });
      return { id: latest.current, filter, page, cursors: [undefined], until: page.until, total: page.total ?? page.events.length };
    });
  };

  const turn = (direction: 'older' | 'newer'): Promise<void> | undefined => {
    if (results === undefined) return undefined;
    const cursors = direction === 'older' ? [...results.cursors, results.page.next ?? undefined] : results.cursors.slice(0, -1);
    const after = cursors.at(-1);
    return run(async () => {
      const page = await searchAudit(call, results.filter, { order: 'desc', limit: PAGE_SIZE, until: results.until, ...(after === undefined ? {} : { after }) });
      return { ...results, page, cursors };
    });
  };

  const groups = groupActions(vocabulary.data ?? []);
  const offset = results === undefined ? 0 : (results.cursors.length - 1) * PAGE_SIZE;

  return (
    <>
      <section class="card" aria-labelledby="search-title">
        <h2 id="search-title">Search the audit log</h2>
        <form class="form audit-filters" data-testid="search-form" onSubmit={submit} noValidate>
          <WindowFields value={win} onChange={setWin} problems={problems} testId="search" />
          <Field label="Action" hint={vocabulary.error === undefined ? undefined : 'The list of actions could not be loaded: any action is searched.'} problem={problems['action']}>
            {(id, describedBy) => (
              <select id={id} data-testid="search-action" value={action} aria-describedby={describedBy} onChange={(e) => setAction(e.currentTarget.value)}>
                <option value="">Any action</option>
                {groups.map((g) => (
                  <optgroup key={g.family.id} label={g.family.label}>
                    {g.actions.map((a) => (
                      <option key={a} value={a}>
                        {a}
                      </option>
                    ))}
                  </optgroup>
                ))}
              </select>
            )}
          </Field>
          <Field label="Actor id" hint="A user, device or patient id, or a process name (gateway, cli)." problem={problems['actorId']}>
            {(id, describedBy) => (
              <input id={id} data-testid="search-actor" value={actorId} maxLength={ID_MAX} autoComplete="off" spellcheck={false} aria-describedby={describedBy} onInput={(e) => setActorId(e.currentTarget.value)} />
            )}
          </Field>
          <Field label="Patient id" hint="The patient the entries are about (an id, not a name)." problem={problems['patientId']}>
            {(id, describedBy) => (
              <input id={id} data-testid="search-patient" value={patientId} maxLength={ID_MAX} autoComplete="off" spellcheck={false} aria-describedby={describedBy} onInput={(e) => setPatientId(e.currentTarget.value)} />
            )}
          </Field>
          <label class="row audit-check">
            <input type="checkbox" data-testid="search-flagged" checked={flaggedOnly} onChange={(e) => setFlaggedOnly(e.currentTarget.checked)} />
            Only entries under emergency access (break-glass)
          </label>
          <div class="row">
            <button type="submit" class="primary" data-testid="search-run" disabled={busy} aria-busy={busy}>
              Search
            </button>
          </div>
        </form>
        <ErrorNote error={error} own={SEARCH_MESSAGES} />
      </section>
      {results === undefined ? (
        <p class="muted" data-testid="search-hint">
          Choose a window and filters, then Search. Every search is itself recorded in the audit log.
        </p>
      ) : (
        <section class="card" aria-labelledby="results-title">
          <h2 id="results-title" class="visually-hidden">
            Results
          </h2>
          <ExportPanel key={results.id} filter={results.filter} total={results.total} />
          <ResultsTable events={results.page.events} offset={offset} total={results.total} />
          <nav class="row" aria-label="Result pages">
            <Button testId="page-newer" disabled={busy || results.cursors.length <= 1} onClick={() => turn('newer')}>
              Newer
            </Button>
            <Button testId="page-older" disabled={busy || results.page.next === null} onClick={() => turn('older')}>
              Older
            </Button>
          </nav>
        </section>
      )}
    </>
  );
}

function ResultsTable({ events, offset, total }: { events: readonly AuditEvent[]; offset: number; total: number }): JSX.Element {
  const caption = events.length === 0 ? 'No entries match' : `Entries ${offset + 1}–${offset + events.length} of ${total}, newest first`;
  return (
    <>
      <p class="visually-hidden" role="status" data-testid="search-count">
        {events.length === 0 ? 'No entries match.' : `${total} entries match.`}
      </p>
      <Table
        caption={caption}
        testId="search-results"
        rowTestId="audit-row"
        head={['Seq', 'Time', 'Action', 'Outcome', 'Actor', 'Patient id', 'Break-glass', 'Details']}
        empty="No entries match this search. Widen the window or remove a filter."
        rows={events.map((e) => [
          <span key="s" data-testid="cell-seq">
            {e.seq}
          </span>,
          <span key="t" class="audit-time">
            {formatSeconds(e.at)}
          </span>,
          <code key="a" class="audit-action" data-testid="cell-action">
            {e.action}
          </code>,
          <span key="o" class={e.outcome === 'success' ? 'badge' : 'badge warn'}>
            {e.outcome}
          </span>,
          <span key="ac" class="audit-id" data-testid="cell-actor">
            {e.actorType}
            {e.actorId === null ? '' : ` ${e.actorId}`}
          </span>,
          <span key="p" class="audit-id" data-testid="cell-patient">
            {e.patientId ?? '—'}
          </span>,
          e.breakGlass ? (
            <span key="b" class="badge bad" data-testid="cell-break-glass">
              Break-glass
            </span>
          ) : (
            <span key="b" class="muted">
              No
            </span>
          ),
          <code key="d" class="audit-details">
            {formatDetails(e.details)}
          </code>,
        ])}
      />
    </>
  );
}
