/**
 * Sessions: a staff account's active sessions (when each started, was last used, and ends if left
 * idle) and revoking one. Revoking ends it on the gateway at once: every page and WebSocket using
 * it is signed out on its next request, and it is audited with the reason "revoked".
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { listSessions, listUsers, type SessionSummary } from './api.ts';
import { Confirm } from './confirm.tsx';
import { useSelectedUser } from './selection.ts';
import { UserPicker } from './user-picker.tsx';

const REVOKE_MESSAGES: Readonly<Record<string, string>> = {
  not_found: 'That session had already ended. The list is refreshed.',
};

/** Sessions are named by the start of their id: enough to tell them apart, not enough to use. */
const shortId = (id: string): string => id.slice(0, 8);

export function SessionsView(): JSX.Element {
  const { call, session } = useConsole();
  const users = useLoad(() => listUsers(call), []);
  const [userId, setUserId] = useSelectedUser();
  const user = users.data?.find((u) => u.id === userId);
  const sessions = useLoad(async () => (user === undefined ? undefined : listSessions(call, user.id)), [user?.id]);
  const [revoking, setRevoking] = useState<SessionSummary | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <UserPicker
        label="Staff account"
        hint="Shows the sessions that are still active. Ended ones are in the audit log."
        users={users.data}
        error={users.error}
        value={userId}
        testId="sessions-user"
        onChange={(id) => {
          setNotice(undefined);
          setUserId(id);
        }}
      />
      {notice === undefined ? null : <Notice testId="sessions-notice">{notice}</Notice>}
      {user === undefined ? null : (
        <>
          <ErrorNote error={sessions.error} />
          <div class="row">
            <Button testId="reload-sessions" onClick={sessions.reload}>
              Reload
            </Button>
          </div>
          <Table
            caption={`Active sessions of ${user.username}`}
            head={['Session', 'Started', 'Last used', 'Ends if unused', '']}
            empty={sessions.loading ? 'Loading…' : `${user.username} is not signed in anywhere.`}
            testId="sessions-table"
            rowTestId="session-row"
            rows={(sessions.data ?? []).map((s) => [
              <span key="id" class="row">
                <code data-testid="session-id" data-session-id={s.id}>
                  {shortId(s.id)}
                </code>
                {s.id === session.id ? <span class="badge">This browser (you)</span> : null}
              </span>,
              formatDateTime(s.createdAt),
              formatDateTime(s.lastSeenAt),
              formatDateTime(s.expiresAt),
              <Button key="r" kind="danger" testId="revoke-session" label={`Revoke session ${shortId(s.id)}`} onClick={() => setRevoking(s)}>
                Revoke
              </Button>,
            ])}
          />
        </>
      )}
      {revoking === undefined || user === undefined ? null : (
        <Confirm
          title={`End session ${shortId(revoking.id)} of ${user.username}?`}
          confirmLabel="Revoke session"
          own={REVOKE_MESSAGES}
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            try {
              await call(`/admin/sessions/${encodeURIComponent(revoking.id)}`, { method: 'DELETE' });
            } finally {
              sessions.reload();
            }
            setNotice(`Session ${shortId(revoking.id)} ended: ${user.username} is signed out of it everywhere it was used.`);
          }}
        >
          {revoking.id === session.id ? (
            <p class="warn">This is your own session: you will be signed out of this console.</p>
          ) : (
            <p>
              {user.username} is signed out at once on every page and connection that uses this session, and must sign in again there. Their other sessions stay
              active.
            </p>
          )}
        </Confirm>
      )}
    </section>
  );
}
