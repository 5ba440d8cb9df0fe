-- The lookup index: who holds each normalised contact point (contact_key "email:…", "phone:…", "ext:system:id" or
-- "name:…"). A customer's claims are inserted in its own group commit, so a lookup finds a customer as soon as its
-- change is acknowledged; claim_seq keeps the claim order (the first claimant first), and a merge moves a claim to the
-- survivor by updating customer_id, which keeps its place. An erasure deletes the customer's rows. Replaces the
-- contact-index grain's states (state name "contactindex"), which the silo moves here once at start.
CREATE TABLE IF NOT EXISTS crm_contact_index
(
    service_id  TEXT   NOT NULL,
    contact_key TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    claim_seq   BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (service_id, contact_key, customer_id)
);

CREATE INDEX IF NOT EXISTS crm_contact_index_order ON crm_contact_index (service_id, contact_key, claim_seq);
CREATE INDEX IF NOT EXISTS crm_contact_index_customer ON crm_contact_index (service_id, customer_id);
