-- 0005: which value model chose the month's Insiders, and why it is not the one asked for;
-- which candidates of the model comparison could not be fitted, and why
-- (issue 24: a young shop's first months step down to BG/NBD alone or to past revenue).
ALTER TABLE insiders.runs ADD COLUMN value_model text;
ALTER TABLE insiders.runs ADD COLUMN value_model_reason text;
COMMENT ON COLUMN insiders.runs.value_model IS
    'the value model that ranked the month''s customers (blend, gbm, bgnbd, past_revenue; empty under the cluster rule)';
COMMENT ON COLUMN insiders.runs.value_model_reason IS
    'why the value model stepped down from the one asked for (empty when it did not)';

-- a candidate of the model comparison that could not be fitted on the month's data (issue 25:
-- DBSCAN's eps of 0 among look-alike customers) is kept, with its reason, and never chosen
ALTER TABLE insiders.model_scores ADD COLUMN left_out text;
COMMENT ON COLUMN insiders.model_scores.left_out IS
    'why the candidate could not be fitted on this data (empty when it was fitted)';
