-- Suppressions are keyed by an HMAC of the address (SuppressionHasher): hash_key names the key, NULL marks a row still
-- hashed with plain SHA-256 (written before keyed hashes). Rows that still hold their address are re-keyed at start-up;
-- erased rows keep their plain hash until the address is suppressed again. seq pages the list without exposing hashes.
ALTER TABLE suppressions ADD COLUMN IF NOT EXISTS hash_key text;
ALTER TABLE suppressions ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX IF NOT EXISTS suppressions_organization_seq_idx ON suppressions (organization_id, seq);
CREATE INDEX IF NOT EXISTS suppressions_rekey_idx ON suppressions (hash_key) WHERE email IS NOT NULL;
