-- An organization's own sending switch: while set, none of its sends moves to 'sending' (they stay queued, held) and
-- resuming releases them. Platform-wide provider pauses stay on the provider grains, for operators only.
ALTER TABLE organizations ADD COLUMN sending_paused_at timestamptz;

-- A tenant's view of the providers counts its own sends of the last minute.
CREATE INDEX email_sends_organization_updated_idx ON email_sends (organization_id, updated_at);
