-- Webhook delivery: when a failed delivery may be tried again, and the last error. Rows wait in seq order.
ALTER TABLE crm_campaign_actions ADD COLUMN next_attempt_at TIMESTAMPTZ NULL;
ALTER TABLE crm_campaign_actions ADD COLUMN last_error TEXT NULL;
CREATE INDEX IF NOT EXISTS crm_campaign_actions_pending ON crm_campaign_actions (service_id, delivery_state, seq);
