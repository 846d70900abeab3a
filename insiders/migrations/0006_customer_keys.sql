-- 0006: the customer as the shop's export names them (issue 25: Shopify and WooCommerce key
-- customers by e-mail; ids with leading zeros keep them). customer_id stays the product's own
-- id (the key itself when it is a plain whole number, as in the UCI files).
ALTER TABLE insiders.customer_segments ADD COLUMN customer_key text;
COMMENT ON COLUMN insiders.customer_segments.customer_key IS
    'the customer''s key as the shop''s export wrote it (an e-mail, a UUID, an id with leading zeros): what a CRM matches on';
