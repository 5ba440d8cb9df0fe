-- Which customers each kept Idempotency-Key answer is about (the customer the request named, a merge's other
-- customer). The answers themselves rest in their idempotency grains' state for 24 hours and may hold a customer's
-- view; an erasure finds them here by customer id and has each grain forget its answer, so a replay after the erasure
-- returns nothing of the erased person. A row goes when its answer expires or is forgotten.
CREATE TABLE IF NOT EXISTS crm_kept_answer_subjects
(
    service_id  TEXT        NOT NULL,
    customer_id TEXT        NOT NULL,
    grain_key   TEXT        NOT NULL,
    expires_at  TEXT        NOT NULL,
    PRIMARY KEY (service_id, customer_id, grain_key)
);

CREATE INDEX IF NOT EXISTS crm_kept_answer_subjects_by_key ON crm_kept_answer_subjects (service_id, grain_key);
