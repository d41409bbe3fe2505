-- Video visits (DESIGN.md §7): a visit link is for the appointment's patient or for an invited
-- guest (interpreter, family member). A guest has no account: the link is the identity, and the
-- audit chain names a guest by the link's id under the actor type 'guest'.
ALTER TABLE visit_links ADD COLUMN audience text NOT NULL DEFAULT 'patient' CHECK (audience IN ('patient', 'guest'));

ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_type_check CHECK (actor_type IN ('user', 'device', 'system', 'patient', 'guest', 'anonymous'));
