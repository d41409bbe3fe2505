/**
 * What the scheduler's pages say for the gateway's error codes only they meet: what happened and
 * what to do next (the kit covers the common codes). Never PHI: these are fixed sentences.
 */

export const APPOINTMENT_MESSAGES: Readonly<Record<string, string>> = {
  conflict: 'The appointment was changed or cancelled meanwhile. Reload the list and try again.',
  validation_failed: 'Some fields are not valid (for example the end is before the start, or the clinic is archived). Correct the marked fields and try again.',
};

export const CONSENT_MESSAGES: Readonly<Record<string, string>> = {
  conflict: 'This patient’s record was erased; consent can no longer be recorded for it.',
  validation_failed: 'The evidence reference is not valid: use the form or document id only (letters, digits, . _ : / -), never names or contact details.',
};

export const TEMPLATE_MESSAGES: Readonly<Record<string, string>> = {
  template_rejected: 'The template was not saved: the check found text that is not allowed in a reminder (see the flagged words below). Change it and save again.',
  template_channel_mismatch: 'A template with this name already exists for the other channel. Choose another name.',
  validation_failed: 'Check the name (lower-case letters, digits, - and _) and the text, then save again.',
};

export const CAMPAIGN_MESSAGES: Readonly<Record<string, string>> = {
  template_not_found: 'That template version does not exist for this channel. Choose a saved template and version.',
  service_unavailable: 'The campaign was saved, but its reminders could not all be queued because the job queue is down. Open the campaign and press Resume in a few minutes; nothing is sent twice.',
  conflict: 'The campaign is already cancelled or finished; it cannot change any more.',
  validation_failed: 'The selection is not valid: the window must end after it starts and span at most 92 days, and listed appointments must be ids. Correct it and try again.',
};
