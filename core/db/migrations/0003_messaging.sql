-- End-to-end-encrypted messaging (DESIGN.md §6). Three separate concerns, as in Signal-Server:
-- the device registry and key directory (public keys only), the envelope store (opaque
-- ciphertext until the recipient device acknowledges it), and attachments (client-encrypted
-- bytes). The server holds no private key and no plaintext.

-- A user's devices. Each device has its own identity key (a changed identity key means a new
-- registration: remove the device and add it again). Device ids are 1..MAX_DEVICES_PER_ACCOUNT.
CREATE TABLE devices (
  user_id          uuid NOT NULL REFERENCES users (id),
  device_id        integer NOT NULL CHECK (device_id BETWEEN 1 AND 127),
  registration_id  integer NOT NULL CHECK (registration_id BETWEEN 1 AND 16383),
  identity_key     bytea NOT NULL CHECK (length(identity_key) = 33),
  -- The current signed EC prekey (Curve25519, 33 bytes serialized) and its XEdDSA signature.
  signed_prekey_id   integer NOT NULL CHECK (signed_prekey_id >= 0),
  signed_prekey      bytea NOT NULL CHECK (length(signed_prekey) = 33),
  signed_prekey_sig  bytea NOT NULL CHECK (length(signed_prekey_sig) = 64),
  -- The last-resort Kyber prekey: handed out (not consumed) when one-time Kyber keys run out.
  last_resort_kyber_id   integer NOT NULL CHECK (last_resort_kyber_id >= 0),
  last_resort_kyber      bytea NOT NULL,
  last_resort_kyber_sig  bytea NOT NULL CHECK (length(last_resort_kyber_sig) = 64),
  -- What the user calls the device in their list ("work laptop"); chosen by the user.
  label            text CHECK (length(label) BETWEEN 1 AND 64),
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, device_id)
);

-- One-time EC prekeys: each is handed out at most once (deleted as it is fetched).
CREATE TABLE prekeys (
  user_id    uuid NOT NULL,
  device_id  integer NOT NULL,
  key_id     integer NOT NULL CHECK (key_id >= 0),
  public_key bytea NOT NULL CHECK (length(public_key) = 33),
  PRIMARY KEY (user_id, device_id, key_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- One-time Kyber (ML-KEM) prekeys, signed by the device's identity key; consumed like prekeys.
CREATE TABLE kyber_prekeys (
  user_id    uuid NOT NULL,
  device_id  integer NOT NULL,
  key_id     integer NOT NULL CHECK (key_id >= 0),
  public_key bytea NOT NULL,
  signature  bytea NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (user_id, device_id, key_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- Envelopes waiting for their recipient device. `seq` gives the delivery order; a row is
-- deleted when the device acknowledges it, or by the TTL purge.
CREATE TABLE envelopes (
  id                uuid PRIMARY KEY,
  seq               bigserial NOT NULL UNIQUE,
  recipient_user    uuid NOT NULL,
  recipient_device  integer NOT NULL,
  sender_user       uuid NOT NULL REFERENCES users (id),
  sender_device     integer NOT NULL,
  -- libsignal CiphertextMessageType: 2 = whisper (session), 3 = prekey message.
  type              smallint NOT NULL CHECK (type IN (2, 3)),
  content           bytea NOT NULL,
  server_ts         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (recipient_user, recipient_device) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX envelopes_by_recipient ON envelopes (recipient_user, recipient_device, seq);
CREATE INDEX envelopes_by_time ON envelopes (server_ts);

-- Client-encrypted attachment bytes, fetched by an unguessable id; the key travels inside the
-- end-to-end-encrypted message that references it.
CREATE TABLE attachments (
  id          uuid PRIMARY KEY,
  owner_user  uuid NOT NULL REFERENCES users (id),
  size        integer NOT NULL CHECK (size >= 0),
  bytes       bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX attachments_by_expiry ON attachments (expires_at);
