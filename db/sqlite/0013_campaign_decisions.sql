-- What each customer decided for each campaign step (decision_key "campaign/step"), one row per decision, written in
-- the customer's group commit together with the contact it logs and the action it emits. Kept out of the customer's
-- snapshot so the bytes written per decision do not grow with the number of campaigns a customer has seen; a
-- customer reads its rows when it next decides. The record holds no message text (that is in the action outbox).
-- Earlier versions kept these in the snapshot; a customer moves them here in its first decision commit.
CREATE TABLE IF NOT EXISTS crm_campaign_decisions
(
    service_id   TEXT        NOT NULL,
    customer_id  TEXT        NOT NULL,
    decision_key TEXT        NOT NULL,
    decided_at   TEXT        NOT NULL,
    record       TEXT        NOT NULL,
    PRIMARY KEY (service_id, customer_id, decision_key)
);
