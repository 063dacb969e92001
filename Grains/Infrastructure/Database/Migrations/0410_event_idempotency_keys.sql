-- Idempotency keys of tracked events, claimed in one statement per batch together with the events they admit.
-- A key older than 24 hours is claimed again; expired rows are deleted periodically (BRIN: rows arrive in time order).
CREATE TABLE event_idempotency_keys (
    organization_id  uuid NOT NULL,
    key              text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);
CREATE INDEX event_idempotency_keys_created_idx ON event_idempotency_keys USING brin (created_at);
