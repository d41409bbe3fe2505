/** One page of a console: an id for the URL fragment (never PHI), a title for nav and page title. */
import type { FunctionComponent } from 'preact';

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly View: FunctionComponent;
}
