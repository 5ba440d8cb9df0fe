-- Each audit record carries the id its writer gave it (the gateway, once per request), unique per service: a batch
-- whose first attempt committed although its caller saw a timeout is written again as no new rows. Older rows have
-- none (NULLs never conflict).
ALTER TABLE crm_audit ADD COLUMN entry_id TEXT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS crm_audit_entry ON crm_audit (service_id, entry_id);
