/**
 * The signed-in frame: header (role, sign out), the role's section nav, and the current section.
 * The section lives in the URL fragment (#id: a section name, never patient data) so reload and
 * back work; the page title names the section only.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { useConsole } from './kit/session.ts';
import { Button } from './kit/ui.tsx';
import { ROLE_NAMES, SECTIONS_BY_ROLE } from './sections.ts';

const fragment = (): string => decodeURIComponent(location.hash.replace(/^#/, ''));

export function ConsoleShell(): JSX.Element {
  const { session, signOut } = useConsole();
  const sections = SECTIONS_BY_ROLE[session.role];
  const [current, setCurrent] = useState(fragment());
  useEffect(() => {
    const onHash = (): void => setCurrent(fragment());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const section = sections.find((s) => s.id === current) ?? sections[0];
  // Layout effects: the title must change with the screen, not after the next frame.
  useLayoutEffect(() => {
    document.title = section === undefined ? 'Clinic console' : `${section.title} — Clinic console`;
  }, [section]);

  return (
    <div class="console">
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="bar">
        <h1>Clinic console</h1>
        <p class="status">
          <span data-testid="role">{ROLE_NAMES[session.role]}</span>
        </p>
        <Button testId="sign-out" onClick={signOut}>
          Sign out
        </Button>
      </header>
      <nav aria-label="Sections">
        <ul class="tabs">
          {sections.map((s) => (
            <li key={s.id}>
              <a href={`#${s.id}`} aria-current={s === section ? 'page' : undefined} data-testid={`nav-${s.id}`}>
                {s.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" tabIndex={-1} data-section={section?.id}>
        {section === undefined ? <p>No sections for this role.</p> : <section.View key={section.id} />}
      </main>
    </div>
  );
}
