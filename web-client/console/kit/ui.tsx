/**
 * The small set of components every console view is built from: labelled fields, buttons that
 * show they are busy, error and notice boxes (role=alert / status, so screen readers hear them),
 * a progress bar with a text equivalent, tables with a caption, a modal dialog on the native
 * <dialog> element (focus trapped by the browser), and a data-loading hook.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './errors.ts';

export function ErrorNote({ error, own }: { error: unknown; own?: Readonly<Record<string, string>> }): JSX.Element | null {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert" data-testid="error">
      {describeError(error, own)}
    </p>
  );
}

export function Notice({ children, testId }: { children: ComponentChildren; testId?: string }): JSX.Element {
  return (
    <p class="notice" role="status" data-testid={testId ?? 'notice'}>
      {children}
    </p>
  );
}

let fieldSeq = 0;

export function Field(props: { label: string; hint?: string; problem?: string | undefined; children: (id: string, describedBy: string | undefined) => ComponentChildren }): JSX.Element {
  const id = useRef(`f${++fieldSeq}`).current;
  const hintId = props.hint === undefined ? undefined : `${id}-hint`;
  const problemId = props.problem === undefined ? undefined : `${id}-problem`;
  const describedBy = [hintId, problemId].filter((x) => x !== undefined).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint === undefined ? null : (
        <small id={hintId} class="muted">
          {props.hint}
        </small>
      )}
      {props.problem === undefined ? null : (
        <small id={problemId} class="field-problem" role="alert" data-testid="field-problem">
          {props.problem}
        </small>
      )}
    </div>
  );
}

export function Button(props: { onClick: () => Promise<unknown> | void; children: ComponentChildren; kind?: 'primary' | 'danger'; testId?: string; disabled?: boolean; label?: string; type?: 'button' | 'submit' }): JSX.Element {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type={props.type ?? 'button'}
      class={props.kind}
      data-testid={props.testId}
      aria-label={props.label}
      aria-busy={busy}
      disabled={props.disabled === true || busy}
      onClick={() => {
        const r = props.onClick();
        if (r instanceof Promise) {
          setBusy(true);
          r.catch(() => undefined).finally(() => setBusy(false));
        }
      }}
    >
      {props.children}
    </button>
  );
}

/** A determinate progress bar (native <progress>); `label` names what progresses, the text says "n of m (p%)". */
export function ProgressBar({ value, max, label, testId }: { value: number; max: number; label: string; testId?: string }): JSX.Element {
  const pct = max <= 0 ? 100 : Math.min(100, Math.round((value / max) * 100));
  return (
    <div class="progress" data-testid={testId ?? 'progress'} data-percent={pct}>
      <progress max={Math.max(max, 1)} value={max <= 0 ? 1 : value} aria-label={label} aria-valuetext={`${value} of ${max} (${pct}%)`} />
      <span class="progress-text">
        {value} of {max} ({pct}%)
      </span>
    </div>
  );
}

export function Table(props: { caption: string; head: readonly string[]; rows: readonly (readonly ComponentChildren[])[]; empty: string; testId?: string; rowTestId?: string }): JSX.Element {
  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={props.head.length} class="muted">
                {props.empty}
              </td>
            </tr>
          ) : (
            props.rows.map((row, i) => (
              <tr key={i} data-testid={props.rowTestId}>
                {row.map((cell, j) => (
                  <td key={j}>{cell}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A modal on the native <dialog>: focus moves in and is trapped; Escape calls onCancel. */
let dialogSeq = 0;

export function Dialog(props: { open: boolean; title: string; onCancel: () => void; children: ComponentChildren; testId?: string; role?: 'dialog' | 'alertdialog' }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useRef(`dialog-title-${++dialogSeq}`).current;
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      role={props.role ?? 'dialog'}
      aria-labelledby={titleId}
      data-testid={props.testId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload: () => void;
}

/** Load data for a view; `reload()` fetches again. Errors stay visible until the next success. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
      })
      .catch((err: unknown) => live && setError(err))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Offer a Blob as a file download (an object URL on a temporary link; no data in the URL bar). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
