-- 0006: the customer as the shop's export names them (issue 25: Shopify and WooCommerce key
-- customers by e-mail; ids with leading zeros keep them). customer_id stays the product's own
-- id (the key itself when it is a plain whole number, as in the UCI files).
ALTER TABLE insiders.customer_segments ADD COLUMN customer_key text;
COMMENT ON COLUMN insiders.customer_segments.customer_key IS
    'the customer''s key as the shop''s export wrote it (an e-mail, a UUID, an id with leading zeros): what a CRM matches on';

-- the currency of the month's amounts (the run's param, else its preset's); empty when the
-- run named none. Months loaded before this migration were the UCI layout's, in pounds.
ALTER TABLE insiders.runs ADD COLUMN currency text;
COMMENT ON COLUMN insiders.runs.currency IS
    'ISO code of the month''s amounts (empty: none given); NULL for months loaded before migration 0006 (GBP, the only currency then)';

-- current_insiders is c.*, fixed when it was created: made again to carry the key
DROP VIEW insiders.current_insiders;
CREATE VIEW insiders.current_insiders AS
SELECT c.*
FROM insiders.customer_segments c
WHERE c.is_insider AND c.run_month = (SELECT max(run_month) FROM insiders.runs);

GRANT SELECT ON ALL TABLES IN SCHEMA insiders TO insiders_reader;
