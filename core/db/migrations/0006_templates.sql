-- Reminder templates (DESIGN.md §8). A template is a name and a channel; its text lives in
-- immutable numbered versions, so a campaign that names (template_id, version) always sends the
-- exact text that was linted and approved, and each delivery records the version's content hash.
-- Template text is clinic-authored and PHI-linted before it is stored; it never holds patient data.
CREATE TABLE reminder_templates (
  id         uuid PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  channel    text NOT NULL CHECK (channel IN ('sms', 'email')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reminder_template_versions (
  template_id  uuid NOT NULL REFERENCES reminder_templates (id),
  version      integer NOT NULL CHECK (version >= 1),
  subject      text CHECK (length(subject) BETWEEN 1 AND 200),
  body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
  -- SHA-256 (hex) over the canonical content (channel, subject, body); recorded with every send.
  content_hash text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  created_by   uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, version)
);

-- Versions are evidence of what was sent: never rewritten or removed.
CREATE FUNCTION reminder_template_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'reminder template versions are immutable';
END;
$$;
CREATE TRIGGER reminder_template_versions_immutable BEFORE UPDATE OR DELETE ON reminder_template_versions
  FOR EACH STATEMENT EXECUTE FUNCTION reminder_template_refuse_change();
CREATE TRIGGER reminder_template_versions_no_truncate BEFORE TRUNCATE ON reminder_template_versions
  FOR EACH STATEMENT EXECUTE FUNCTION reminder_template_refuse_change();
