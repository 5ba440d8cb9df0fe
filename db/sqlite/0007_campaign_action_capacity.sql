-- Daily capacity and agents' call lists. An action on a channel without a daily limit is released when it is
-- stored; on a limited channel it waits (release_seq NULL) until the capacity planner gives it a day (planned_day,
-- in the capacity settings' time zone) and, when the channel has agents, an agent. Waiting actions are released in
-- priority order (the campaign's priority, then the order they were stored).
--
-- The pull feed reads released rows in release_seq order. SQLite runs one write transaction at a time, so
-- release_seq (the largest so far plus one, taken inside the writing transaction) grows in commit order and
-- release_tx is always 0.
ALTER TABLE crm_campaign_actions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_campaign_actions ADD COLUMN planned_day TEXT NULL;
ALTER TABLE crm_campaign_actions ADD COLUMN agent_id TEXT NULL;
ALTER TABLE crm_campaign_actions ADD COLUMN release_tx INTEGER NULL;
ALTER TABLE crm_campaign_actions ADD COLUMN release_seq INTEGER NULL;

UPDATE crm_campaign_actions SET release_tx = 0, release_seq = seq WHERE release_seq IS NULL;

CREATE INDEX IF NOT EXISTS crm_campaign_actions_feed ON crm_campaign_actions (service_id, release_tx, release_seq);
CREATE INDEX IF NOT EXISTS crm_campaign_actions_waiting ON crm_campaign_actions (service_id, channel, priority DESC, seq) WHERE release_seq IS NULL;
CREATE INDEX IF NOT EXISTS crm_campaign_actions_planned ON crm_campaign_actions (service_id, channel, planned_day) WHERE planned_day IS NOT NULL;
CREATE INDEX IF NOT EXISTS crm_campaign_actions_by_agent ON crm_campaign_actions (service_id, agent_id, planned_day) WHERE agent_id IS NOT NULL;

-- The channels that have a daily limit now, kept by the capacity planner from the capacity settings; an action
-- stored on one of them waits for the planner.
CREATE TABLE IF NOT EXISTS crm_channel_limits
(
    service_id  TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    daily_limit INTEGER NOT NULL,
    PRIMARY KEY (service_id, channel)
);
