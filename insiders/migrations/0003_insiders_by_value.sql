-- 0003: Insiders chosen by expected value with an entry and an exit bar (issue 12). Every
-- customer row carries the value model's figures and the tier's decision; every segment how
-- many of its customers are Insiders. current_insiders is c.*, fixed when it was created:
-- recreated to show the new columns.

ALTER TABLE insiders.customer_segments
    ADD COLUMN expected_revenue double precision,
    ADD COLUMN p_active double precision,
    ADD COLUMN value_rank integer,
    ADD COLUMN status text CHECK (status IN ('new', 'stayed', 'left', 'out')),
    ADD COLUMN member_since date,
    ADD COLUMN months_below integer,
    ADD COLUMN reason text;

ALTER TABLE insiders.segment_profiles
    ADD COLUMN n_insiders integer,
    ADD COLUMN share_insiders double precision,
    ADD COLUMN mean_frequency_study double precision;

-- frequency now grows with buying (invoices per 30 days since the first purchase, at least 30
-- days); the study's definition (invoices per day between first and last purchase) moves to
-- frequency_study. Rows loaded before this migration keep the study's values in frequency.
ALTER TABLE insiders.customer_segments ADD COLUMN frequency_study double precision;
COMMENT ON COLUMN insiders.customer_segments.frequency IS
    'invoices per 30 days since the first purchase (at least 30); before migration 0003: the study''s definition';

DROP VIEW insiders.current_insiders;
CREATE VIEW insiders.current_insiders AS
SELECT c.*
FROM insiders.customer_segments c
WHERE c.is_insider AND c.run_month = (SELECT max(run_month) FROM insiders.runs);

GRANT SELECT ON ALL TABLES IN SCHEMA insiders TO insiders_reader;
