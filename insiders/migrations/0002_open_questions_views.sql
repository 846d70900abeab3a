-- 0002: any number of report questions (no more hard limit of nine), and the views defined
-- by migrations: created once here, no longer recreated by every load. A later change to a
-- view is a new migration (CREATE OR REPLACE VIEW may only add columns at the end; anything
-- else is DROP VIEW + CREATE VIEW, with its GRANT).

ALTER TABLE insiders.answers DROP CONSTRAINT answers_question_check;
ALTER TABLE insiders.answers ADD CONSTRAINT answers_question_check CHECK (question >= 1);

CREATE OR REPLACE VIEW insiders.insiders_by_month AS
SELECT r.run_month, r.reference_date, r.customers, r.insiders, r.insiders_share_customers,
       r.insiders_share_revenue, r.chosen_candidate, r.silhouette,
       count(*) FILTER (WHERE m.change = 'entered') AS entered,
       count(*) FILTER (WHERE m.change = 'left') AS left_group
FROM insiders.runs r
LEFT JOIN insiders.membership_history m USING (run_month)
GROUP BY r.run_month;

CREATE OR REPLACE VIEW insiders.current_insiders AS
SELECT c.*
FROM insiders.customer_segments c
WHERE c.is_insider AND c.run_month = (SELECT max(run_month) FROM insiders.runs);

GRANT SELECT ON ALL TABLES IN SCHEMA insiders TO insiders_reader;
