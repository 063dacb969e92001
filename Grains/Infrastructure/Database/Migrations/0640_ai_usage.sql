-- Each organization's AI generations and provider tokens per UTC day: the daily budget every API process shares.
CREATE TABLE ai_usage (
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    day              date NOT NULL,
    requests         integer NOT NULL,
    tokens           bigint NOT NULL,
    PRIMARY KEY (organization_id, day)
);
