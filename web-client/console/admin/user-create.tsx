/**
 * Creating a staff account: username, display name, role and an initial password. The gateway
 * applies the password-strength floor; every reason it gives is shown next to the password
 * field, and the form keeps what was typed so only the marked field needs fixing.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole, type StaffRole } from '../kit/session.ts';
import { ErrorNote, Field } from '../kit/ui.tsx';
import type { StaffUser } from './api.ts';
import { fieldProblems } from '../kit/errors.ts';
import { asRole, ROLE_LABELS, ROLES } from './roles.ts';

const CREATE_MESSAGES: Readonly<Record<string, string>> = {
  validation_failed: 'The account was not created. Correct the marked fields and try again.',
  conflict: 'That username is already taken. Choose another one; nothing was created.',
};

export function CreateUser({ onCreated }: { onCreated: (user: StaffUser) => void }): JSX.Element {
  const { call } = useConsole();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<StaffRole>('provider');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const problems = fieldProblems(error);

  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    setBusy(true);
    try {
      const user = await call<StaffUser>('/admin/users', { method: 'POST', body: { username: username.trim(), displayName: displayName.trim(), role, password } });
      setError(undefined);
      setUsername('');
      setDisplayName('');
      setPassword('');
      onCreated(user);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card form" aria-labelledby="create-user-title" data-testid="create-user-form" onSubmit={(ev) => void submit(ev)}>
      <h2 id="create-user-title">Add a staff account</h2>
      <ErrorNote error={error} own={CREATE_MESSAGES} />
      <div class="grid2">
        <div data-testid="field-username">
          <Field label="Username" hint="3–64 characters: lower-case letters, digits, dot, dash, underscore." problem={problems['username']}>
            {(id, describedBy) => (
              <input id={id} data-testid="new-username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required maxLength={64} autoComplete="off" spellcheck={false} aria-describedby={describedBy} aria-invalid={problems['username'] !== undefined} />
            )}
          </Field>
        </div>
        <div data-testid="field-displayName">
          <Field label="Display name" hint="How colleagues see them, e.g. Dr. Rivera." problem={problems['displayName']}>
            {(id, describedBy) => (
              <input id={id} data-testid="new-display-name" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} required maxLength={128} autoComplete="off" aria-describedby={describedBy} aria-invalid={problems['displayName'] !== undefined} />
            )}
          </Field>
        </div>
        <div data-testid="field-role">
          <Field label="Role" hint="Decides what they can see and do." problem={problems['role']}>
            {(id, describedBy) => (
              <select id={id} data-testid="new-role" value={role} onChange={(e) => setRole(asRole(e.currentTarget.value) ?? 'provider')} aria-describedby={describedBy}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {ROLE_LABELS[r]}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div data-testid="field-password">
          <Field label="Initial password" hint="At least 12 characters, not common or guessable. Tell it to them in person or by phone; they set up their authenticator at first sign-in." problem={problems['password']}>
            {(id, describedBy) => (
              <input
                id={id}
                data-testid="new-password"
                type="password"
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
                required
                maxLength={1024}
                autoComplete="new-password"
                aria-describedby={describedBy}
                aria-invalid={problems['password'] !== undefined}
              />
            )}
          </Field>
        </div>
      </div>
      <div class="row">
        <button type="submit" class="primary" data-testid="create-user" disabled={busy} aria-busy={busy}>
          Add account
        </button>
      </div>
    </form>
  );
}
