-- Delivery: finds sends left in flight (queued or sending) cheaply, for the sweep that settles sends interrupted by a
-- stopped silo. Partial, so it stays small: almost every row is past these states.
CREATE INDEX email_sends_in_flight_idx ON email_sends (updated_at) WHERE status IN ('queued', 'sending');
