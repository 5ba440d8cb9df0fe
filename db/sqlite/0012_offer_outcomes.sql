-- Offer learning's outcomes, one row per (service, offer, outcome id): a repeated report is refused by the key however
-- late it comes, and an outcome costs one short row instead of a rewrite of the offer's whole state. The offer grain
-- keeps the counts per group in memory, loaded with one aggregate over its rows at activation. The outcome id is the
-- reporting customer's id and its event id (or campaign contact key), as the event log keeps them.
CREATE TABLE IF NOT EXISTS crm_offer_outcomes
(
    service_id  TEXT NOT NULL,
    offer_id    TEXT NOT NULL,
    outcome_id  TEXT NOT NULL,
    group_label TEXT NOT NULL,
    outcome     TEXT NOT NULL, -- accepted, declined, notnow
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (service_id, offer_id, outcome_id)
);
