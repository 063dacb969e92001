-- Whether a contact is in any journey, written with the contact grain's state (same multi-row statement). The API reads
-- it through the partial index to call only the contact grains an event can matter to: contacts in journeys, and events
-- that start one.
ALTER TABLE journey_grain_state ADD COLUMN has_active_journeys boolean NOT NULL DEFAULT false;

UPDATE journey_grain_state
SET has_active_journeys = true
WHERE state_name = 'contact'
  AND coalesce(convert_from(payload, 'UTF8')::jsonb -> 'activeJourneys', '{}'::jsonb) <> '{}'::jsonb;

CREATE INDEX journey_grain_state_in_journeys_idx ON journey_grain_state (grain_id) WHERE has_active_journeys;
