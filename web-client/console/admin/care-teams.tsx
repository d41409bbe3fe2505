/**
 * Care teams: which patients a provider treats, which is what lets the provider open those
 * patients' records and message them. Minimum necessary: administrators never read patient
 * records, so patients appear here by their record id only (the id the scheduler or the
 * patient's provider sees); no names, birth dates or MRNs.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Field, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { careTeamPath, listCareTeam, listUsers, type CareTeamMember } from './api.ts';
import { Confirm } from './confirm.tsx';
import { useSelectedUser } from './selection.ts';
import { UserPicker } from './user-picker.tsx';

const ADD_MESSAGES: Readonly<Record<string, string>> = {
  not_found: 'No patient has that record id, or the record was erased. Check the id with the scheduler and try again.',
  conflict: 'Only providers have care teams. Choose a provider.',
  validation_failed: 'That is not a patient record id. Check it and try again.',
};
const REMOVE_MESSAGES: Readonly<Record<string, string>> = {
  not_found: 'That patient was already off this care team. The list is refreshed.',
};

const RECORD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BAD_ID = 'A record id has 36 characters: digits, letters a–f and four dashes (like 3f2b1c9e-0d4a-4b7e-9c1f-2a6d8e0b5c3d). Check it and try again.';

export function CareTeamsView(): JSX.Element {
  const { call } = useConsole();
  const providers = useLoad(() => listUsers(call, 'provider'), []);
  const [userId, setUserId] = useSelectedUser();
  const provider = providers.data?.find((u) => u.id === userId);
  const team = useLoad(async () => (provider === undefined ? undefined : listCareTeam(call, provider.id)), [provider?.id]);
  const [patientId, setPatientId] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [addError, setAddError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<CareTeamMember | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const add = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (provider === undefined) return;
    const id = patientId.trim().toLowerCase();
    if (!RECORD_ID.test(id)) {
      setProblem(BAD_ID);
      setAddError(undefined);
      return;
    }
    setProblem(undefined);
    setBusy(true);
    try {
      await call(`${careTeamPath(provider.id)}/${id}`, { method: 'PUT' });
      setAddError(undefined);
      setPatientId('');
      setNotice(`Patient ${id} is on the care team of ${provider.username}.`);
      team.reload();
    } catch (err) {
      setAddError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="care-teams-title">
      <h2 id="care-teams-title">Care teams</h2>
      <p class="muted" data-testid="minimum-necessary">
        A provider can open the records of, and message, the patients on their care team. Administrators do not see patient records: patients appear here by
        their record id only. Ask the scheduler or the patient’s provider for the id.
      </p>
      <UserPicker
        label="Provider"
        users={providers.data}
        error={providers.error}
        value={userId}
        testId="care-team-provider"
        onChange={(id) => {
          setNotice(undefined);
          setAddError(undefined);
          setProblem(undefined);
          setUserId(id);
        }}
      />
      {notice === undefined ? null : <Notice testId="care-team-notice">{notice}</Notice>}
      {provider === undefined ? null : (
        <>
          <form class="form" aria-label={`Add a patient to the care team of ${provider.username}`} data-testid="care-team-add" onSubmit={(ev) => void add(ev)}>
            <ErrorNote error={addError} own={ADD_MESSAGES} />
            <div class="row admin-inline">
              <Field label="Patient record id" hint="36 characters, like 3f2b1c9e-0d4a-4b7e-9c1f-2a6d8e0b5c3d." problem={problem}>
                {(id, describedBy) => (
                  <input
                    id={id}
                    data-testid="care-team-patient"
                    value={patientId}
                    onInput={(e) => setPatientId(e.currentTarget.value)}
                    required
                    maxLength={64}
                    autoComplete="off"
                    spellcheck={false}
                    class="admin-id-input"
                    aria-describedby={describedBy}
                    aria-invalid={problem !== undefined}
                  />
                )}
              </Field>
              <button type="submit" class="primary" data-testid="add-patient" disabled={busy} aria-busy={busy}>
                Add to care team
              </button>
            </div>
          </form>
          <ErrorNote error={team.error} />
          <Table
            caption={`Care team of ${provider.username}${team.data?.truncated === true ? ' (newest 200)' : ''}`}
            head={['Patient record id', 'Added', '']}
            empty={team.loading ? 'Loading…' : `No patients on the care team of ${provider.username} yet.`}
            testId="care-team-table"
            rowTestId="care-team-row"
            rows={(team.data?.patients ?? []).map((m) => [
              <span key="id" class="row">
                <code data-testid="care-team-patient-id">{m.patientId}</code>
                {m.erased ? <span class="badge bad">Record erased</span> : null}
              </span>,
              formatDateTime(m.addedAt),
              <Button key="r" kind="danger" testId="remove-patient" label={`Remove patient ${m.patientId}`} onClick={() => setRemoving(m)}>
                Remove
              </Button>,
            ])}
          />
        </>
      )}
      {removing === undefined || provider === undefined ? null : (
        <Confirm
          title={`Take this patient off the care team of ${provider.username}?`}
          confirmLabel="Remove from care team"
          own={REMOVE_MESSAGES}
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            try {
              await call(`${careTeamPath(provider.id)}/${removing.patientId}`, { method: 'DELETE' });
            } finally {
              team.reload();
            }
            setNotice(`Patient ${removing.patientId} is no longer on the care team of ${provider.username}.`);
          }}
        >
          <p>
            Patient <code>{removing.patientId}</code>: {provider.username} can no longer open this patient’s record or message them, unless someone adds them back.
          </p>
        </Confirm>
      )}
    </section>
  );
}
