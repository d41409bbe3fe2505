/**
 * Small pieces every messenger view uses: an error box (the app's messages already say what to
 * do), and formatting of times and file sizes.
 */
import type { JSX } from 'preact';
import { ApiError } from './local-api.ts';

export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `Something went wrong in the page (${error.name}). Reload it and try again.`;
  return 'Something went wrong. Reload the page and try again.';
}

export function Problem({ error, testId }: { error: unknown; testId?: string }): JSX.Element | null {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert" data-testid={testId ?? 'error'}>
      {describe(error)}
    </p>
  );
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { timeStyle: 'short' }) : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatSize(bytes: number | null): string {
  if (bytes === null) return '';
  if (bytes < 1_000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1_000).toFixed(0)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** A user id is long; show its start, the full id on hover and to screen readers. */
export function peerName(c: { readonly peerUserId: string; readonly label: string | null }): string {
  return c.label ?? `User ${c.peerUserId.slice(0, 8)}`;
}
