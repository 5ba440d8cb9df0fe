-- The durable outbox of campaign actions. A customer grain inserts one row per campaign step it decided to contact
-- it on; the unique idempotency key (campaign/step/customer) turns a retried or resumed launch into a no-op, so an
-- action is stored once however often its decision is re-sent. Adapters (pull feed, webhook, call lists) read rows
-- in seq order and record delivery here.
CREATE TABLE IF NOT EXISTS crm_campaign_actions
(
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id      TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    campaign_id     TEXT        NOT NULL,
    step_id         TEXT        NOT NULL,
    customer_id     TEXT        NOT NULL,
    channel         TEXT        NOT NULL,
    subject         TEXT        NULL,
    body            TEXT        NOT NULL,
    html            INTEGER     NOT NULL,
    not_before      TEXT        NULL,
    created_at      TEXT        NOT NULL,
    delivery_state  TEXT        NOT NULL, -- pending, delivered, failed
    attempts        INTEGER     NOT NULL,
    delivered_at    TEXT        NULL,
    CONSTRAINT crm_campaign_actions_unique_key UNIQUE (service_id, idempotency_key)
);

CREATE INDEX IF NOT EXISTS crm_campaign_actions_by_campaign ON crm_campaign_actions (service_id, campaign_id, seq);
