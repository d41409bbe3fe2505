-- Identity, access and PHI at rest (issue 3).
--
-- * users: every principal has a unique id (164.312(a)(2)(i)). Staff log in with a username,
--   password (argon2id PHC string) and TOTP (secret encrypted under the master key); patients are
--   their own principal kind, linked to their patient record, and never have a role.
-- * patients: demographic and contact fields are AES-256-GCM ciphertexts under a per-patient data
--   key (patient_keys, wrapped by the master key). Deleting the key row is crypto-shredding.
-- * care_team: the provider <-> patient relationship the access policy reads.
-- * appointments, visit_links, enrollment_codes: appointment-bound single-use links and one-time
--   enrollment codes, stored only as SHA-256 hashes of their random tokens.
-- * break_glass: time-boxed emergency access grants and their privacy-officer review.
-- Sessions and login throttles live in Redis (short-lived, TTL-driven); see gateway/auth.

CREATE TABLE patients (
  id          uuid PRIMARY KEY,
  -- Ciphertexts (core/crypto field format); NULL = not provided.
  given_name  bytea,
  family_name bytea,
  birth_date  bytea,
  phone       bytea,
  email       bytea,
  mrn         bytea,
  -- IANA zone for quiet hours and reminder wording; not identifying on its own.
  time_zone   text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- Set when the data key was destroyed; the ciphertexts above are then unreadable forever.
  erased_at   timestamptz
);

CREATE TABLE patient_keys (
  patient_id    uuid PRIMARY KEY REFERENCES patients (id),
  -- The patient's 256-bit data key, AES-256-GCM-wrapped by master key `master_key_id`.
  wrapped_key   bytea NOT NULL,
  master_key_id text NOT NULL CHECK (master_key_id ~ '^[0-9a-f]{16}$'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  rotated_at    timestamptz
);
CREATE INDEX patient_keys_master_idx ON patient_keys (master_key_id);

CREATE TABLE users (
  id                  uuid PRIMARY KEY,
  kind                text NOT NULL CHECK (kind IN ('staff', 'patient')),
  role                text CHECK (role IN ('provider', 'scheduler', 'admin', 'auditor', 'privacy_officer')),
  -- Staff login name, lower-cased. Staff names are not PHI.
  username            text UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
  display_name        text CHECK (length(display_name) BETWEEN 1 AND 128),
  patient_id          uuid UNIQUE REFERENCES patients (id),
  password_hash       text,
  password_changed_at timestamptz,
  -- TOTP secret, encrypted under the master key (core/crypto); NULL until enrollment starts.
  totp_secret         bytea,
  mfa_enrolled_at     timestamptz,
  -- Last accepted TOTP time step: a code is never accepted twice.
  totp_last_step      bigint,
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_by          uuid,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (
    (kind = 'staff' AND role IS NOT NULL AND username IS NOT NULL AND display_name IS NOT NULL AND patient_id IS NULL)
    OR (kind = 'patient' AND role IS NULL AND username IS NULL AND password_hash IS NULL AND patient_id IS NOT NULL)
  )
);

CREATE TABLE recovery_codes (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE care_team (
  provider_id uuid NOT NULL REFERENCES users (id),
  patient_id  uuid NOT NULL REFERENCES patients (id),
  added_by    uuid,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider_id, patient_id)
);
CREATE INDEX care_team_patient_idx ON care_team (patient_id);

CREATE TABLE appointments (
  id          uuid PRIMARY KEY,
  patient_id  uuid NOT NULL REFERENCES patients (id),
  provider_id uuid NOT NULL REFERENCES users (id),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  status      text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'completed')),
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at)
);
CREATE INDEX appointments_provider_idx ON appointments (provider_id, starts_at);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at);

CREATE TABLE visit_links (
  id             uuid PRIMARY KEY,
  appointment_id uuid NOT NULL REFERENCES appointments (id),
  token_hash     text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_by     uuid NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  used_at        timestamptz,
  revoked_at     timestamptz,
  revoked_by     uuid
);
CREATE INDEX visit_links_appointment_idx ON visit_links (appointment_id);

CREATE TABLE enrollment_codes (
  id         uuid PRIMARY KEY,
  patient_id uuid NOT NULL REFERENCES patients (id),
  code_hash  text NOT NULL UNIQUE CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  created_by uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  revoked_at timestamptz
);
CREATE INDEX enrollment_codes_patient_idx ON enrollment_codes (patient_id);

CREATE TABLE break_glass (
  id          uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES users (id),
  patient_id  uuid NOT NULL REFERENCES patients (id),
  -- The provider's justification may describe the patient's condition: encrypted under the
  -- patient's data key like any other PHI (and shredded with it).
  reason      bytea NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  ended_at    timestamptz,
  status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'reviewed')),
  reviewed_by uuid REFERENCES users (id),
  reviewed_at timestamptz,
  outcome     text CHECK (outcome IN ('justified', 'not_justified', 'escalated')),
  review_note bytea,
  CHECK (expires_at > started_at),
  CHECK ((status = 'open' AND reviewed_at IS NULL AND outcome IS NULL) OR (status = 'reviewed' AND reviewed_at IS NOT NULL AND outcome IS NOT NULL AND reviewed_by IS NOT NULL))
);
CREATE INDEX break_glass_active_idx ON break_glass (provider_id, patient_id, expires_at);
CREATE INDEX break_glass_open_idx ON break_glass (status, started_at) WHERE status = 'open';
