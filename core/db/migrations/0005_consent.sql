-- Communication consent (DESIGN.md §8, issue 6). consent_records is a versioned, append-only
-- ledger: every change for a (patient, channel, purpose) is a NEW row whose version is the
-- previous one + 1, and a revocation is a row with state 'revoked'. Rows say who recorded the
-- change, when, how, and on what evidence (an opaque reference such as a form id or a Twilio
-- MessageSid, never free text). Like audit_log, the table refuses UPDATE, DELETE and TRUNCATE.
--
-- contact_index is a blind index: HMAC-SHA256 of a patient's normalized phone / e-mail under a
-- key derived (HKDF) from the master key, so an inbound SMS can be matched to its patient without
-- decrypting every record. It is rewritten when contacts change, so it is not append-only.

CREATE TABLE consent_records (
  id               uuid PRIMARY KEY,
  patient_id       uuid NOT NULL REFERENCES patients (id),
  channel          text NOT NULL CHECK (channel IN ('sms', 'email')),
  purpose          text NOT NULL CHECK (purpose IN ('appointment_reminders', 'general_outreach')),
  version          integer NOT NULL CHECK (version >= 1),
  state            text NOT NULL CHECK (state IN ('granted', 'revoked')),
  method           text NOT NULL CHECK (method IN ('form', 'verbal', 'portal', 'keyword', 'unsubscribe_link')),
  evidence_ref     text CHECK (evidence_ref ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$'),
  -- Who recorded the change: a user (staff or patient principal) or a system component.
  recorded_by_type text NOT NULL CHECK (recorded_by_type IN ('user', 'patient', 'system')),
  recorded_by      text NOT NULL CHECK (recorded_by ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  -- The backstop for concurrent writers: two changes can never share a version.
  UNIQUE (patient_id, channel, purpose, version)
);
CREATE INDEX consent_records_patient_idx ON consent_records (patient_id, channel, purpose, version DESC);
-- Redelivered inbound events (same MessageSid) are found by their evidence.
CREATE INDEX consent_records_evidence_idx ON consent_records (evidence_ref) WHERE evidence_ref IS NOT NULL;

CREATE FUNCTION consent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
  FOR EACH STATEMENT EXECUTE FUNCTION consent_refuse_change();
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
  FOR EACH STATEMENT EXECUTE FUNCTION consent_refuse_change();
ALTER TABLE consent_records ENABLE ALWAYS TRIGGER consent_records_append_only;
ALTER TABLE consent_records ENABLE ALWAYS TRIGGER consent_records_no_truncate;

CREATE TABLE contact_index (
  patient_id uuid NOT NULL REFERENCES patients (id),
  kind       text NOT NULL CHECK (kind IN ('phone', 'email')),
  -- HMAC-SHA256 of the normalized value under the blind-index key derived from master key key_id.
  digest     bytea NOT NULL CHECK (length(digest) = 32),
  key_id     text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (patient_id, kind)
);
-- Not unique: family members may share a phone or an e-mail address.
CREATE INDEX contact_index_lookup_idx ON contact_index (kind, digest);
