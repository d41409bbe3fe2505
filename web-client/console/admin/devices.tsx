/**
 * Devices: a provider's messaging devices (the messenger app on their own computers) and removing
 * one that was lost or compromised. Removal deletes the device's public keys and every message
 * still waiting for it (the gateway holds only ciphertext it can never re-create), so it is
 * confirmed first and says so.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { listDevices, listUsers, userPath, type Device } from './api.ts';
import { Confirm } from './confirm.tsx';
import { useSelectedUser } from './selection.ts';
import { UserPicker } from './user-picker.tsx';

const REMOVE_MESSAGES: Readonly<Record<string, string>> = {
  device_not_found: 'That device was already removed. The list is refreshed.',
  not_found: 'That account no longer exists. Reload the page.',
};

const deviceName = (d: Device): string => (d.label === null ? `Device ${d.deviceId}` : `Device ${d.deviceId} (${d.label})`);

export function DevicesView(): JSX.Element {
  const { call } = useConsole();
  const providers = useLoad(() => listUsers(call, 'provider'), []);
  const [userId, setUserId] = useSelectedUser();
  const user = providers.data?.find((u) => u.id === userId);
  const devices = useLoad(async () => (user === undefined ? undefined : listDevices(call, user.id)), [user?.id]);
  const [removing, setRemoving] = useState<Device | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  return (
    <section class="card" aria-labelledby="devices-title">
      <h2 id="devices-title">Messaging devices</h2>
      <UserPicker
        label="Provider"
        hint="Only providers register messaging devices (the messenger app on their own computer). Message contents never reach the gateway."
        users={providers.data}
        error={providers.error}
        value={userId}
        testId="devices-user"
        onChange={(id) => {
          setNotice(undefined);
          setUserId(id);
        }}
      />
      {notice === undefined ? null : <Notice testId="devices-notice">{notice}</Notice>}
      {user === undefined ? null : (
        <>
          <ErrorNote error={devices.error} />
          <Table
            caption={`Messaging devices of ${user.username}`}
            head={['Device', 'Registered', 'Last used', '']}
            empty={devices.loading ? 'Loading…' : `${user.username} has no messaging devices.`}
            testId="devices-table"
            rowTestId="device-row"
            rows={(devices.data ?? []).map((d) => [
              <span key="n" data-testid="device-name">
                {deviceName(d)}
              </span>,
              formatDateTime(d.createdAt),
              formatDateTime(d.lastSeenAt),
              <Button key="r" kind="danger" testId="remove-device" label={`Remove ${deviceName(d)}`} onClick={() => setRemoving(d)}>
                Remove
              </Button>,
            ])}
          />
        </>
      )}
      {removing === undefined || user === undefined ? null : (
        <Confirm
          title={`Remove ${deviceName(removing)} of ${user.username}?`}
          confirmLabel="Remove device"
          own={REMOVE_MESSAGES}
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            try {
              await call(`${userPath(user.id)}/devices/${removing.deviceId}`, { method: 'DELETE' });
            } finally {
              devices.reload();
            }
            setNotice(`${deviceName(removing)} of ${user.username} was removed with its keys and waiting messages.`);
          }}
        >
          <p>
            This deletes the device’s encryption keys and every message still waiting for it; they cannot be recovered. The device stops receiving at once. Use this
            for a lost or compromised computer: {user.username} sets the messenger up again to keep messaging.
          </p>
        </Confirm>
      )}
    </section>
  );
}
