/**
 * One staff account's controls: change role, disable or enable, reset MFA (lost phone), lift a
 * sign-in lockout, and jump to their sessions or devices. Role changes, disabling and MFA resets
 * end every session of that user, so each is confirmed first and says so.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole, type StaffRole } from '../kit/session.ts';
import { Button, ErrorNote, Field } from '../kit/ui.tsx';
import { userPath, type StaffUser } from './api.ts';
import { Confirm } from './confirm.tsx';
import { asRole, ROLE_LABELS, ROLES } from './roles.ts';
import { selectUser } from './selection.ts';

const MANAGE_MESSAGES: Readonly<Record<string, string>> = {
  conflict: 'An administrator cannot demote or disable their own account. Ask another administrator.',
  not_found: 'That account no longer exists. Reload the list.',
};

type Pending = { readonly kind: 'role'; readonly role: StaffRole } | { readonly kind: 'disable' } | { readonly kind: 'mfa' };

export interface ManageUserProps {
  readonly user: StaffUser;
  /** Seconds until the lockout lifts, when locked. */
  readonly lockedForSec: number | undefined;
  /** After a change: what happened, for the status line, and a reload of the list. */
  readonly onChanged: (message: string) => void;
}

export function ManageUser({ user, lockedForSec, onChanged }: ManageUserProps): JSX.Element {
  const { call, session } = useConsole();
  const [role, setRole] = useState<StaffRole>(user.role);
  const [pending, setPending] = useState<Pending | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const self = user.id === session.userId;
  const name = user.username;

  const patch = async (body: { role?: StaffRole; status?: 'active' | 'disabled' }): Promise<void> => {
    await call<StaffUser>(userPath(user.id), { method: 'PATCH', body });
  };
  const direct = (fn: () => Promise<void>, message: string) => async (): Promise<void> => {
    try {
      await fn();
      setError(undefined);
      onChanged(message);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="card" aria-labelledby="manage-title" data-testid="manage-user">
      <h2 id="manage-title">Manage {name}</h2>
      {self ? <p class="muted">This is your own account: you cannot change its role or disable it. Ask another administrator.</p> : null}
      <ErrorNote error={error} own={MANAGE_MESSAGES} />
      <div class="row admin-inline">
        <Field label="Role">
          {(id) => (
            <select id={id} data-testid="manage-role" value={role} disabled={self} onChange={(e) => setRole(asRole(e.currentTarget.value) ?? user.role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Button testId="change-role" disabled={self || role === user.role} onClick={() => setPending({ kind: 'role', role })}>
          Change role
        </Button>
      </div>
      <div class="row">
        {user.status === 'active' ? (
          <Button kind="danger" testId="disable-user" disabled={self} onClick={() => setPending({ kind: 'disable' })}>
            Disable account
          </Button>
        ) : (
          <Button testId="enable-user" onClick={direct(() => patch({ status: 'active' }), `${name} can sign in again.`)}>
            Enable account
          </Button>
        )}
        <Button testId="reset-mfa" onClick={() => setPending({ kind: 'mfa' })}>
          Reset authenticator
        </Button>
        <Button testId="unlock-user" disabled={lockedForSec === undefined} onClick={direct(() => call(`${userPath(user.id)}/unlock`, { method: 'POST' }), `${name} can try to sign in again.`)}>
          Unlock sign-in
        </Button>
        {lockedForSec === undefined ? <span class="muted">Sign-in is not locked.</span> : <span class="muted">Locked for about {Math.ceil(lockedForSec / 60)} more minutes after failed sign-ins.</span>}
      </div>
      <p class="row">
        <a href="#sessions" data-testid="goto-sessions" onClick={() => selectUser(user.id)}>
          Sessions of {name}
        </a>
        {user.role === 'provider' ? (
          <a href="#devices" data-testid="goto-devices" onClick={() => selectUser(user.id)}>
            Messaging devices of {name}
          </a>
        ) : null}
        {user.role === 'provider' ? (
          <a href="#care-teams" data-testid="goto-care-team" onClick={() => selectUser(user.id)}>
            Care team of {name}
          </a>
        ) : null}
      </p>

      {pending?.kind === 'role' ? (
        <Confirm
          title={`Change the role of ${name}?`}
          confirmLabel={`Make ${ROLE_LABELS[pending.role]}`}
          own={MANAGE_MESSAGES}
          onClose={() => setPending(undefined)}
          onConfirm={async () => {
            await patch({ role: pending.role });
            onChanged(`${name} is now ${ROLE_LABELS[pending.role]}. Their sessions were ended; they sign in again with the new role.`);
          }}
        >
          <p>
            From {ROLE_LABELS[user.role]} to {ROLE_LABELS[pending.role]}. {name} is signed out everywhere at once and sees only what the new role allows after signing in again.
          </p>
        </Confirm>
      ) : null}
      {pending?.kind === 'disable' ? (
        <Confirm
          title={`Disable ${name}?`}
          confirmLabel="Disable account"
          own={MANAGE_MESSAGES}
          onClose={() => setPending(undefined)}
          onConfirm={async () => {
            await patch({ status: 'disabled' });
            onChanged(`${name} is disabled and was signed out everywhere.`);
          }}
        >
          <p>{name} is signed out everywhere at once and cannot sign in until an administrator enables the account again. Nothing is deleted.</p>
        </Confirm>
      ) : null}
      {pending?.kind === 'mfa' ? (
        <Confirm
          title={`Reset the authenticator of ${name}?`}
          confirmLabel="Reset authenticator"
          own={MANAGE_MESSAGES}
          onClose={() => setPending(undefined)}
          onConfirm={async () => {
            await call(`${userPath(user.id)}/mfa-reset`, { method: 'POST' });
            onChanged(`The authenticator of ${name} was reset. They set up a new one at their next sign-in.`);
          }}
        >
          <p>For a lost or replaced phone. {name} is signed out everywhere, their recovery codes stop working, and they set up a new authenticator at their next sign-in.</p>
        </Confirm>
      ) : null}
    </section>
  );
}
