/**
 * Users: every staff account with its role, whether it can sign in (active, disabled, locked out
 * after failed sign-ins) and whether an authenticator is enrolled; adding an account; and one
 * account's controls (user-manage.tsx).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { listLockouts, listUsers, type StaffUser } from './api.ts';
import { ROLE_LABELS } from './roles.ts';
import { useSelectedUser } from './selection.ts';
import { CreateUser } from './user-create.tsx';
import { ManageUser } from './user-manage.tsx';

export function UsersView(): JSX.Element {
  const { call, session } = useConsole();
  const list = useLoad(async () => {
    const [users, locks] = await Promise.all([listUsers(call), listLockouts(call)]);
    return { users, locks };
  }, []);
  const [selected, setSelected] = useSelectedUser();
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const users = list.data?.users ?? [];
  const locks = list.data?.locks ?? new Map<string, number>();
  const current = users.find((u) => u.id === selected);

  const changed = (message: string): void => {
    setNotice(message);
    list.reload();
  };

  return (
    <>
      <h2 class="visually-hidden">Users</h2>
      {notice === undefined ? null : <Notice testId="users-notice">{notice}</Notice>}
      <CreateUser
        onCreated={(user) => {
          setSelected(user.id);
          changed(`Added ${user.username} as ${ROLE_LABELS[user.role]}. They set up their authenticator at first sign-in.`);
        }}
      />
      <section class="card" aria-labelledby="users-title">
        <div class="row admin-head">
          <h2 id="users-title">Staff accounts</h2>
          <Button testId="reload-users" onClick={list.reload}>
            Reload
          </Button>
        </div>
        <ErrorNote error={list.error} />
        {list.loading && list.data === undefined ? <p class="muted">Loading…</p> : null}
        <Table
          caption={`${users.length} staff accounts`}
          head={['Username', 'Name', 'Role', 'Sign-in', 'Authenticator', 'Added', '']}
          empty="No staff accounts yet."
          testId="users-table"
          rowTestId="user-row"
          rows={users.map((u) => [
            <strong key="u">{u.username}</strong>,
            u.displayName,
            <span key="r" data-testid="user-role">
              {ROLE_LABELS[u.role]}
            </span>,
            <StatusBadges key="s" user={u} locked={locks.has(u.id)} />,
            u.mfaEnrolled ? (
              <span key="m" class="badge ok" data-testid="user-mfa">
                Enrolled
              </span>
            ) : (
              <span key="m" class="badge warn" data-testid="user-mfa">
                Not yet
              </span>
            ),
            formatDateTime(u.createdAt),
            <button
              key="a"
              type="button"
              data-testid="manage"
              aria-pressed={u.id === selected}
              aria-label={`Manage ${u.username}${u.id === session.userId ? ' (you)' : ''}`}
              onClick={() => {
                setNotice(undefined);
                setSelected(u.id);
              }}
            >
              Manage
            </button>,
          ])}
        />
      </section>
      {current === undefined ? null : <ManageUser key={`${current.id}:${current.role}:${current.status}`} user={current} lockedForSec={locks.get(current.id)} onChanged={changed} />}
    </>
  );
}

function StatusBadges({ user, locked }: { user: StaffUser; locked: boolean }): JSX.Element {
  return (
    <span class="row" data-testid="user-status">
      {user.status === 'active' ? <span class="badge ok">Active</span> : <span class="badge bad">Disabled</span>}
      {locked ? <span class="badge warn">Locked</span> : null}
    </span>
  );
}
