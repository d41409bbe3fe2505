/**
 * Choosing the staff account a section works on: a labelled <select> of usernames, display names
 * and roles (staff directory data, not patient data), optionally limited to one role.
 */
import type { JSX } from 'preact';
import { ErrorNote, Field } from '../kit/ui.tsx';
import type { StaffUser } from './api.ts';
import { ROLE_LABELS } from './roles.ts';

export interface UserPickerProps {
  readonly label: string;
  readonly hint?: string;
  readonly users: readonly StaffUser[] | undefined;
  readonly error: unknown;
  readonly value: string | undefined;
  readonly onChange: (userId: string | undefined) => void;
  readonly testId: string;
}

export function userLabel(u: StaffUser): string {
  return `${u.username} — ${u.displayName} (${ROLE_LABELS[u.role]}${u.status === 'disabled' ? ', disabled' : ''})`;
}

export function UserPicker(props: UserPickerProps): JSX.Element {
  const known = props.users?.some((u) => u.id === props.value) === true;
  return (
    <div class="form">
      <ErrorNote error={props.error} />
      <Field label={props.label} {...(props.hint === undefined ? {} : { hint: props.hint })}>
        {(id, describedBy) => (
          <select
            id={id}
            data-testid={props.testId}
            aria-describedby={describedBy}
            disabled={props.users === undefined}
            value={known ? props.value : ''}
            onChange={(e) => props.onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)}
          >
            <option value="">{props.users === undefined ? 'Loading…' : props.users.length === 0 ? 'No accounts' : 'Choose an account…'}</option>
            {props.users?.map((u) => (
              <option key={u.id} value={u.id}>
                {userLabel(u)}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}
