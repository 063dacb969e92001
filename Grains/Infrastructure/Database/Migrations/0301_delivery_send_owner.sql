-- Delivery: which silo holds a send until it is settled, and what is needed to render it again, so that the sends of a
-- silo that died can be taken over by a live one (queued -> sent again from scratch; sending -> unknown).
ALTER TABLE email_sends
    ADD COLUMN owner            text,
    ADD COLUMN event_json       text,
    ADD COLUMN subject_override text,
    ADD COLUMN transactional    boolean NOT NULL DEFAULT false;

CREATE INDEX email_sends_owner_in_flight_idx ON email_sends (owner) WHERE status IN ('queued', 'sending');
