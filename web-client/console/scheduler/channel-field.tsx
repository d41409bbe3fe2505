/** The channel picker every scheduler form uses (campaign, consent, template): labelled, one list of names. */
import type { JSX } from 'preact';
import { Field } from '../kit/ui.tsx';
import { CHANNELS, CHANNEL_NAMES, type Channel } from './types.ts';

export function ChannelField(props: { value: Channel; testId: string; disabled?: boolean; onChange: (channel: Channel) => void }): JSX.Element {
  return (
    <Field label="Channel">
      {(id) => (
        <select id={id} data-testid={props.testId} value={props.value} disabled={props.disabled === true} onChange={(e) => props.onChange(e.currentTarget.value as Channel)}>
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {CHANNEL_NAMES[c]}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
