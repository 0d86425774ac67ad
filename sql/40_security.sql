-- The gateway's role (extension/gateway-role.sql) executes the API and can
-- neither read nor write a table, nor manage keys; PUBLIC can do nothing.
\set VERBOSITY terse
CREATE ROLE regress_parley_gateway LOGIN;
CREATE ROLE regress_parley_nobody LOGIN;
\set role regress_parley_gateway
\i extension/gateway-role.sql
SELECT parley.guest_upsert('sec_alice', 'Alice') IS NOT NULL AS seeded;
SELECT parley.service_key_create('sec.gateway') IS NOT NULL AS key_made;

SET ROLE regress_parley_gateway;
-- the API works
SELECT parley.guest_upsert('sec_bob', 'Bob')->>'guest_id' AS via_api;
SELECT parley.guest_get('sec_alice')->>'display_name' AS via_api;
SELECT count(*) AS can_list_key_hashes FROM parley.service_key_hashes() WHERE name = 'sec.gateway';
-- the tables do not
SELECT * FROM parley.guests;
SELECT * FROM parley.conversations;
SELECT * FROM parley.participants;
SELECT * FROM parley.messages;
SELECT * FROM parley.service_keys;
INSERT INTO parley.guests (guest_id, display_name) VALUES ('sec_evil', 'x');
UPDATE parley.guests SET display_name = 'pwned';
DELETE FROM parley.messages;
TRUNCATE parley.guests;
-- key management is the DBA's
SELECT parley.service_key_create('sec.evil');
SELECT parley.service_key_revoke('svc.other');
RESET ROLE;

-- a role without the grants cannot call anything
SET ROLE regress_parley_nobody;
SELECT parley.guest_get('sec_alice');
SELECT parley.guest_upsert('sec_carol', 'Carol');
RESET ROLE;

-- a hostile search_path cannot redirect the SECURITY DEFINER functions
CREATE SCHEMA regress_evil;
CREATE TABLE regress_evil.guests (guest_id text, display_name text);
SET search_path = regress_evil, public;
SELECT parley.guest_get('sec_alice')->>'display_name' AS still_parley_guests;
RESET search_path;
DROP SCHEMA regress_evil CASCADE;

-- nothing the refused calls tried is there
SELECT guest_id, display_name FROM parley.guests WHERE guest_id LIKE 'sec\_%' ORDER BY 1;
SELECT count(*) AS evil_keys FROM parley.service_keys WHERE name = 'sec.evil';

REVOKE ALL ON SCHEMA parley FROM regress_parley_gateway;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley FROM regress_parley_gateway;
DROP ROLE regress_parley_gateway;
DROP ROLE regress_parley_nobody;
