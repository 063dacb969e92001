-- Wake index. A waiting journey's next due time is written with its state (same multi-row statement) into `due_at`,
-- with `wake_shard` (first byte of sha256(grain_id), 0-255) naming the slot a wake shard grain polls. Rows that
-- wait for nothing (contacts, ended journeys) keep both null and stay out of the partial index.
ALTER TABLE journey_grain_state ADD COLUMN due_at timestamptz;
ALTER TABLE journey_grain_state ADD COLUMN wake_shard smallint;

-- Journeys already waiting when this runs: take the due time from their stored state.
UPDATE journey_grain_state
SET due_at = (convert_from(payload, 'UTF8')::jsonb ->> 'dueAt')::timestamptz,
    wake_shard = get_byte(sha256(convert_to(grain_id, 'UTF8')), 0)
WHERE state_name = 'journey'
  AND convert_from(payload, 'UTF8')::jsonb ->> 'status' IN ('Waiting', 'Scheduled')
  AND convert_from(payload, 'UTF8')::jsonb ->> 'dueAt' IS NOT NULL;

CREATE INDEX journey_grain_state_wake_idx ON journey_grain_state (wake_shard, due_at) WHERE due_at IS NOT NULL;
