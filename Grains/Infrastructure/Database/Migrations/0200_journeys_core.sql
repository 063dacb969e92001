-- Journey engine. Grain state (OrleansStorage) is the source of truth for each journey; `journeys` is its queryable
-- projection (list by workflow, step and status), written in batches by each silo. `journey_sends` records send
-- intents where no delivery layer is deployed (Automator:Journeys:SendStep=log): one row per send key.

CREATE TABLE journeys (
    workflow_id      uuid NOT NULL,
    contact_id       uuid NOT NULL,
    organization_id  uuid NOT NULL,
    journey_id       text NOT NULL,
    version          integer NOT NULL,
    entry            integer NOT NULL,
    status           text NOT NULL,
    step_id          text,
    wait             text,
    due_at           timestamptz,
    entered_at       timestamptz,
    ended_at         timestamptz,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, contact_id)
);
CREATE INDEX journeys_workflow_status_idx ON journeys (workflow_id, status, step_id, contact_id);
CREATE INDEX journeys_contact_idx ON journeys (contact_id);

CREATE TABLE journey_sends (
    send_key         text PRIMARY KEY,
    organization_id  uuid NOT NULL,
    journey_id       text NOT NULL,
    step_id          text NOT NULL,
    attempts         integer NOT NULL DEFAULT 1,
    first_at         timestamptz NOT NULL DEFAULT now(),
    last_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journey_sends_journey_idx ON journey_sends (journey_id);
