-- 0002: any number of report questions (no more hard limit of nine). The views are defined
-- by 0001 and no longer recreated by every load; a later change to a view is a new migration
-- (CREATE OR REPLACE VIEW may only add columns at the end; anything else is DROP VIEW +
-- CREATE VIEW, with its GRANT).

ALTER TABLE insiders.answers DROP CONSTRAINT answers_question_check;
ALTER TABLE insiders.answers ADD CONSTRAINT answers_question_check CHECK (question >= 1);

GRANT SELECT ON ALL TABLES IN SCHEMA insiders TO insiders_reader;
