-- Email ownership: a user proves their address by a link mailed to it. An address left unverified for 7 days after
-- sign-up (or after accepting an invitation) may be taken by the next sign-up or invitation with it.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
ALTER TABLE users ADD COLUMN email_unverified_since timestamptz;

-- Users who were signing in before addresses were verified keep theirs: counted as verified from now.
UPDATE users SET email_verified_at = now() WHERE status = 'active';

-- Single-use tokens mailed to a user: 'verify' (the address, 7 days) and 'reset' (the password, 1 hour). Stored as SHA-256;
-- a token names the address it was mailed to, so it proves nothing about another one.
CREATE TABLE account_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email       text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);
