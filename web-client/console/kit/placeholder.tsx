import type { JSX } from 'preact';

export function Placeholder(): JSX.Element {
  return <p>Not built yet.</p>;
}
