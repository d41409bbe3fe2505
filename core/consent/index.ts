/**
 * core/consent's public API: the versioned consent ledger, the contact blind index (inbound SMS
 * → patient), and one-click unsubscribe tokens. Delivery code asks `currentFor()` before sending.
 */
export {
  ConsentChannel,
  ConsentMethod,
  ConsentPurpose,
  ConsentState,
  CONSENT_CHANNELS,
  CONSENT_PURPOSES,
  EVIDENCE_REF_RE,
} from './vocab.ts';
export {
  createConsentLedger,
  ConsentInputSchema,
  MAX_CHANGES_PER_CALL,
  type ConsentInput,
  type ConsentLedger,
  type ConsentRecord,
  type CurrentConsent,
  type Dedupe,
  type RecordOptions,
  type RecordResult,
} from './ledger.ts';
export { createContactIndex, ContactKind, normalizeContact, normalizeEmail, normalizePhone, removePatientContacts, type ContactIndex } from './contact-index.ts';
export { deriveKey, deriveKeys, KeyPurpose, type DerivedKey } from './derived-keys.ts';
export {
  signUnsubscribeToken,
  unsubscribeEvidence,
  unsubscribeKeys,
  verifyUnsubscribeToken,
  MAX_TOKEN_LENGTH,
  UNSUBSCRIBE_TTL_SEC,
  type UnsubscribeClaims,
  type VerifiedUnsubscribe,
} from './unsubscribe-token.ts';
