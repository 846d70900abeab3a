-- 0005: which value model chose the month's Insiders, and why it is not the one asked for
-- (issue 24: a young shop's first months step down to BG/NBD alone or to past revenue).
ALTER TABLE insiders.runs ADD COLUMN value_model text;
ALTER TABLE insiders.runs ADD COLUMN value_model_reason text;
COMMENT ON COLUMN insiders.runs.value_model IS
    'the value model that ranked the month''s customers (blend, gbm, bgnbd, past_revenue; empty under the cluster rule)';
COMMENT ON COLUMN insiders.runs.value_model_reason IS
    'why the value model stepped down from the one asked for (empty when it did not)';
