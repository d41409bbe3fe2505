/**
 * Who the signed-in account may message (GET /v1/contacts): other providers and the care team's
 * enrolled patients for a provider, the care team's providers for a patient. The answer holds
 * names — a patient's name is PHI — so callers keep it in memory for display and do not log it.
 */
import { z } from 'zod';
import { UserId } from '../core/protocol/messaging.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import { request, type HttpOptions } from './http-client.ts';

/** The gateway answers at most this many (its MAX_CONTACTS). */
export const MAX_CONTACTS = 500;

export const Contact = z.object({
  userId: UserId,
  kind: z.enum(['provider', 'patient']),
  displayName: z.string().min(1).max(256),
  /** At least one messaging device is registered: a message can be delivered now. */
  hasDevice: z.boolean(),
});
export type Contact = z.infer<typeof Contact>;

export const ContactList = z.object({
  contacts: z.array(Contact).max(MAX_CONTACTS),
  /** More people qualified than the gateway lists; the others can still be messaged by user id. */
  truncated: z.boolean(),
});
export type ContactList = z.infer<typeof ContactList>;

/** GET /v1/contacts with the session token in `opts`. 403 (SdkError status 403) for accounts that never message. */
export async function listContacts(opts: HttpOptions & { readonly token: string }): Promise<ContactList> {
  const out = await request(opts, 'GET', '/v1/contacts', undefined, ContactList);
  if (out === undefined) throw new SdkError(SdkErrorCode.invalidResponse, 'empty response from GET /v1/contacts');
  return out;
}
