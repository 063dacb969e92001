-- Grain state of journeys and contacts, written by BatchedGrainStorage: concurrent writes from many grains are
-- coalesced into one multi-row statement, each row still checked against its own version (etag).
CREATE TABLE journey_grain_state (
    grain_id    text NOT NULL,
    state_name  text NOT NULL,
    etag        bigint NOT NULL,
    payload     bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grain_id, state_name)
);
