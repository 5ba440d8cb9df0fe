-- Tokens and web sessions of a user issued before this moment are refused: set when the user signs out, when the
-- password changes and when the user is disabled, so a stolen or forgotten token does not outlive any of them.
ALTER TABLE crm_users ADD COLUMN IF NOT EXISTS sessions_from TIMESTAMPTZ NULL;
