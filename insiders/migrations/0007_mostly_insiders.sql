-- 0007: one meaning for is_insider (issue 23). It is a customer's flag: a member of the month's
-- tier (insiders.customer_segments). A segment's figure, "at least half of its customers are
-- Insiders", gets its own name.
ALTER TABLE insiders.segment_profiles RENAME COLUMN is_insider TO mostly_insiders;
COMMENT ON COLUMN insiders.segment_profiles.mostly_insiders IS
    'at least half of the segment''s customers are Insiders (under the study''s cluster rule: the Insiders segment)';
