-- One signing secret per organization for outbound webhook steps, created on first use. The secret is stored through
-- the contact field cipher (encrypted when keys are configured): the server needs it in clear to sign.
CREATE TABLE IF NOT EXISTS webhook_signing_secrets (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
