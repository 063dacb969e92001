-- The signing secret of a workflow's inbound webhook trigger, apart from the workflow definition so that reading a
-- workflow never shows it; stored encrypted with the contact field key ring when one is configured.
CREATE TABLE workflow_webhook_secrets (
    organization_id  uuid NOT NULL,
    workflow_id      uuid NOT NULL,
    secret           text NOT NULL,
    rotated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, workflow_id)
);
