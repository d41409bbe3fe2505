-- Clinics (sites): where an appointment takes place, so reminder campaigns can target one site.
-- A clinic's name is a short display name ("Riverside Family Medicine"): clinic-chosen, not PHI,
-- and it may appear in reminders, so it is plain single-line text. Clinics are archived, never
-- deleted: past appointments keep pointing at them, and an archived clinic's name is free again.
-- Existing appointments, and every appointment of a single-site deployment, have no clinic.
CREATE TABLE clinics (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120 AND name = btrim(name) AND name !~ '[[:cntrl:]]'),
  -- IANA zone (checked by the application with Intl): the site's local time for reminder wording.
  time_zone   text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  archived_at timestamptz
);
-- One live clinic per name, whatever the letter case; archived ones do not count.
CREATE UNIQUE INDEX clinics_live_name_idx ON clinics (lower(name)) WHERE archived_at IS NULL;

ALTER TABLE appointments ADD COLUMN clinic_id uuid REFERENCES clinics (id);
-- Campaign windows select one clinic's appointments by start time.
CREATE INDEX appointments_clinic_idx ON appointments (clinic_id, starts_at);
