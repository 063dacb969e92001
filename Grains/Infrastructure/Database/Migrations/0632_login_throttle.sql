-- Consecutive failed logins per account (keyed by a hash of the lower-cased email, known or not), and how long the
-- account is locked; cleared by a successful login, purged once a day old.
CREATE TABLE login_throttle (
    account_hash  bytea PRIMARY KEY,
    failures      integer NOT NULL,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX login_throttle_updated_idx ON login_throttle (updated_at);
