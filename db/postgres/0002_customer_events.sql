-- The append-only log of every customer event. The customer grain keeps a bounded summary; this table keeps
-- everything, for history pages, replay and analysts' SQL. One row per (service, customer, event id): a repeated
-- event id is refused by the unique key, which is what makes recording an event idempotent.
CREATE TABLE IF NOT EXISTS crm_customer_events
(
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id         TEXT           NOT NULL,
    customer_id        TEXT           NOT NULL,
    event_id           TEXT           NOT NULL,
    type               TEXT           NOT NULL,
    occurred_at        TIMESTAMPTZ    NOT NULL,
    recorded_at        TIMESTAMPTZ    NOT NULL,
    source             TEXT           NULL,
    channel            TEXT           NULL,
    amount             NUMERIC(19, 4) NULL,     -- copied from data->>'amount' for easy sums
    data               JSONB          NOT NULL, -- camelCase; query with data->>'productId'
    origin_customer_id TEXT           NULL,     -- set on copies absorbed from a merged customer
    CONSTRAINT crm_customer_events_unique_event UNIQUE (service_id, customer_id, event_id)
);

CREATE INDEX IF NOT EXISTS crm_customer_events_by_customer ON crm_customer_events (service_id, customer_id, seq);
CREATE INDEX IF NOT EXISTS crm_customer_events_history ON crm_customer_events (service_id, customer_id, occurred_at, seq);
CREATE INDEX IF NOT EXISTS crm_customer_events_by_type_time ON crm_customer_events (type, occurred_at);
