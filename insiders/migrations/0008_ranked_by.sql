-- 0008: which ranking the month's tier followed and why (issue 32: value_model=auto chooses it
-- by the run's own back-test), beside the value model that made the forecasts (0005).
ALTER TABLE insiders.runs ADD COLUMN ranked_by text;
ALTER TABLE insiders.runs ADD COLUMN ranking_reason text;
COMMENT ON COLUMN insiders.runs.ranked_by IS
    'what ranked the month''s customers for the tier (revenue_so_far, bgnbd, gbm, blend; empty under the cluster rule or a value model named)';
COMMENT ON COLUMN insiders.runs.ranking_reason IS
    'why: the rankings'' capture at the earlier months whose 91 days are known, and the rule against flapping';
