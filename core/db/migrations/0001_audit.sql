-- Audit chain (DESIGN.md §5). audit_log is append-only and hash-chained; audit_checkpoint holds
-- Ed25519-signed snapshots of the chain head. The application computes hashes (core/audit); the
-- database enforces what it cheaply can: no UPDATE/DELETE/TRUNCATE, seq contiguity and prev_hash
-- linkage on INSERT, millisecond timestamps (so the ISO string that was hashed round-trips exactly).
-- Triggers are ENABLE ALWAYS so `SET session_replication_role = replica` does not switch them off;
-- only ALTER TABLE (owner/superuser) can, and `telehealth audit verify` detects what that allows.

CREATE TABLE audit_log (
  seq           bigint PRIMARY KEY CHECK (seq >= 1),
  at            timestamptz NOT NULL CHECK (at = date_trunc('milliseconds', at)),
  actor_type    text NOT NULL CHECK (actor_type IN ('user', 'device', 'system', 'patient', 'anonymous')),
  actor_id      text,
  action        text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
  resource_type text,
  resource_id   text,
  patient_id    text,
  outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  request_id    text,
  ip            text,
  break_glass   boolean NOT NULL DEFAULT false,
  details       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
  prev_hash     text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- Export filters (breach assessment: a time window, one actor, one patient). The id indexes end
-- in seq because export pages through matches by seq (keyset pagination).
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, seq) WHERE patient_id IS NOT NULL;

CREATE TABLE audit_checkpoint (
  seq       bigint PRIMARY KEY CHECK (seq >= 1),
  head_hash text NOT NULL CHECK (head_hash ~ '^[0-9a-f]{64}$'),
  at        timestamptz NOT NULL CHECK (at = date_trunc('milliseconds', at)),
  key_id    text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  signature text NOT NULL
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- A new row must extend the current tail: seq n+1 whose prev_hash is row n's hash (genesis for 1)
-- and whose time does not go backwards. Catches a buggy or hostile writer before verify has to.
CREATE FUNCTION audit_log_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prev_hash_expected text;
  prev_at timestamptz;
BEGIN
  IF NEW.seq = 1 THEN
    prev_hash_expected := repeat('0', 64);
  ELSE
    SELECT hash, at INTO prev_hash_expected, prev_at FROM audit_log WHERE seq = NEW.seq - 1;
  END IF;
  IF prev_hash_expected IS NULL OR NEW.prev_hash IS DISTINCT FROM prev_hash_expected THEN
    RAISE EXCEPTION 'audit_log insert does not extend the chain at seq %', NEW.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF prev_at IS NOT NULL AND NEW.at < prev_at THEN
    RAISE EXCEPTION 'audit_log insert at seq % goes back in time', NEW.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_link BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_check_link();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_link;
ALTER TABLE audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_append_only;
ALTER TABLE audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_no_truncate;
