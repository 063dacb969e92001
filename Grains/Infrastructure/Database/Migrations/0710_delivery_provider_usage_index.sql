-- Delivery: a provider grain that activates again counts its account's sends since the start of the UTC day
-- (daily quota, warm-up) from the send log. Partial: only sends a provider accepted have sent_at.
CREATE INDEX email_sends_provider_sent_idx ON email_sends (provider, sent_at) WHERE sent_at IS NOT NULL;
