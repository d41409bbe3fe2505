-- Reminder campaigns (DESIGN.md §8). A campaign is one channel and one template version over a
-- set of appointments; each (campaign, patient, channel) is one delivery row and one BullMQ job
-- whose id is derived from the row, so enqueueing twice adds nothing. A delivery row is the
-- idempotency record: it is moved to 'sending' BEFORE the provider is called, so a worker killed
-- mid-call leaves evidence that is reconciled with the provider, never blindly resent.
CREATE TABLE campaigns (
  id               uuid PRIMARY KEY,
  channel          text NOT NULL CHECK (channel IN ('sms', 'email')),
  purpose          text NOT NULL CHECK (purpose IN ('appointment_reminders', 'general_outreach')),
  template_id      uuid NOT NULL,
  template_version integer NOT NULL CHECK (template_version >= 1),
  status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused', 'cancelled', 'completed')),
  created_by       uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  total            integer NOT NULL DEFAULT 0 CHECK (total >= 0)
);

CREATE TABLE deliveries (
  id                  uuid PRIMARY KEY,
  campaign_id         uuid NOT NULL REFERENCES campaigns (id),
  patient_id          uuid NOT NULL REFERENCES patients (id),
  appointment_id      uuid NOT NULL REFERENCES appointments (id),
  channel             text NOT NULL CHECK (channel IN ('sms', 'email')),
  state               text NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'skipped', 'failed', 'undelivered')),
  -- Why a delivery was skipped or failed: a closed vocabulary, never free text.
  reason              text CHECK (reason ~ '^[a-z][a-z_]{0,63}$'),
  attempts            integer NOT NULL DEFAULT 0,
  send_started_at     timestamptz,
  provider_message_id text CHECK (length(provider_message_id) <= 128),
  consent_record_id   uuid,
  consent_version     integer,
  template_hash       text CHECK (template_hash ~ '^[0-9a-f]{64}$'),
  -- SHA-256 of the rendered text actually sent (the text itself is never stored).
  body_hash           text CHECK (body_hash ~ '^[0-9a-f]{64}$'),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, patient_id, channel)
);
CREATE INDEX deliveries_campaign_state_idx ON deliveries (campaign_id, state);
CREATE UNIQUE INDEX deliveries_provider_message_idx ON deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL;
