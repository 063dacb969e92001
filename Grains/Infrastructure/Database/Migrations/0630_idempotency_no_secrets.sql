-- Stored idempotent responses of routes that create a secret (API keys, invitations) or return decrypted contact
-- fields are no longer kept: drop the ones written before, and everything past the 24-hour retention.
DELETE FROM idempotency_keys
WHERE scope LIKE 'POST /v1/api-keys%' OR scope LIKE 'POST /v1/users%' OR scope IN ('POST /v1/contacts', 'POST /v1/contacts/')
   OR created_at < now() - interval '24 hours';
