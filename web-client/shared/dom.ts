/**
 * Small DOM helpers for the visit pages: typed element lookup by id (a missing element is a
 * build mistake, so it throws), element creation, and screen switching.
 */

export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page is missing #${id}`);
  return el;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { text?: string; className?: string; testId?: string; label?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.className !== undefined) node.className = props.className;
  if (props.testId !== undefined) node.dataset['testid'] = props.testId;
  if (props.label !== undefined) node.setAttribute('aria-label', props.label);
  node.append(...children);
  return node;
}

/** Show one `.screen` section, hide the others. */
export function showScreen(id: string): void {
  for (const s of document.querySelectorAll<HTMLElement>('.screen')) s.hidden = s.id !== id;
}

/** Show an error message (plain text: it says what to do), or hide it with undefined. */
export function showError(message: string | undefined): void {
  const box = byId('error', HTMLElement);
  box.textContent = message ?? '';
  box.hidden = message === undefined;
}

/** The state text tests and screen readers follow. */
export function showState(state: string): void {
  byId('state', HTMLElement).textContent = state;
  document.body.dataset['state'] = state;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
