-- 0001: the schema as the pre-migration ensure_schema() created it (every load ran this DDL).
-- Frozen: never edit an applied migration; change the schema in a new numbered file.
-- A warehouse made before migrations existed (insiders.runs, no schema_migrations) is
-- recorded at this version without running it.

CREATE SCHEMA IF NOT EXISTS insiders;

CREATE TABLE IF NOT EXISTS insiders.runs (
    run_month date PRIMARY KEY,
    reference_date date NOT NULL,
    source text NOT NULL,
    run_id text,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    lines_read bigint,
    lines_kept bigint,
    customers integer NOT NULL,
    revenue double precision,
    insiders integer NOT NULL,
    insiders_share_customers double precision,
    insiders_share_revenue double precision,
    insiders_segment_id integer,
    chosen_candidate text NOT NULL,
    silhouette double precision,
    policy jsonb,
    filter_config jsonb,
    artifacts text
);

CREATE TABLE IF NOT EXISTS insiders.customer_segments (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    customer_id bigint NOT NULL,
    segment_id integer NOT NULL,
    segment_name text NOT NULL,
    is_insider boolean NOT NULL,
    cluster integer NOT NULL,
    gross_revenue double precision,
    recency_days bigint,
    n_lines bigint,
    frequency double precision,
    qty_returned bigint,
    n_invoices bigint,
    n_items bigint,
    n_products bigint,
    avg_ticket double precision,
    avg_basket_size double precision,
    avg_unique_basket_size double precision,
    avg_days_between_purchases double precision,
    n_returns bigint,
    value_returned double precision,
    PRIMARY KEY (run_month, customer_id)
);
CREATE INDEX IF NOT EXISTS customer_segments_insiders_idx
    ON insiders.customer_segments (run_month) WHERE is_insider;
CREATE INDEX IF NOT EXISTS customer_segments_customer_idx
    ON insiders.customer_segments (customer_id, run_month);
CREATE INDEX IF NOT EXISTS customer_segments_segment_idx
    ON insiders.customer_segments (run_month, segment_id);

CREATE TABLE IF NOT EXISTS insiders.segment_profiles (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    segment_id integer NOT NULL,
    segment_name text NOT NULL,
    is_insider boolean NOT NULL,
    n_customers integer NOT NULL,
    share_customers double precision,
    revenue double precision,
    share_revenue double precision,
    mean_gross_revenue double precision,
    mean_recency_days double precision,
    mean_n_lines double precision,
    mean_frequency double precision,
    mean_qty_returned double precision,
    mean_n_invoices double precision,
    mean_n_items double precision,
    mean_n_products double precision,
    mean_avg_ticket double precision,
    mean_avg_basket_size double precision,
    mean_avg_unique_basket_size double precision,
    mean_avg_days_between_purchases double precision,
    mean_n_returns double precision,
    mean_value_returned double precision,
    PRIMARY KEY (run_month, segment_id)
);

CREATE TABLE IF NOT EXISTS insiders.model_scores (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    candidate text NOT NULL,
    space text NOT NULL,
    model text NOT NULL,
    k integer,
    params text,
    n_clusters integer,
    noise_share double precision,
    silhouette double precision,
    davies_bouldin double precision,
    calinski_harabasz double precision,
    silhouette_sampled boolean,
    is_chosen boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_month, candidate)
);
CREATE INDEX IF NOT EXISTS model_scores_chosen_idx
    ON insiders.model_scores (run_month) WHERE is_chosen;

CREATE TABLE IF NOT EXISTS insiders.filter_counts (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    rule text NOT NULL,
    description text,
    lines_removed bigint NOT NULL,
    lines_flagged bigint NOT NULL,
    revenue_removed double precision,
    revenue_flagged double precision,
    PRIMARY KEY (run_month, rule)
);

CREATE TABLE IF NOT EXISTS insiders.membership_history (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    customer_id bigint NOT NULL,
    change text NOT NULL CHECK (change IN ('entered', 'left')),
    previous_month date,
    PRIMARY KEY (run_month, customer_id)
);
CREATE INDEX IF NOT EXISTS membership_history_customer_idx
    ON insiders.membership_history (customer_id);

CREATE TABLE IF NOT EXISTS insiders.answers (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    question smallint NOT NULL CHECK (question BETWEEN 1 AND 9),
    metric text NOT NULL,
    value double precision,
    text text,
    PRIMARY KEY (run_month, question, metric)
);

CREATE TABLE IF NOT EXISTS insiders.forecasts (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    month date NOT NULL,
    model text NOT NULL,
    expected_revenue double precision,
    naive_revenue double precision,
    PRIMARY KEY (run_month, month)
);

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

DO $$ BEGIN
    CREATE ROLE insiders_reader NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
GRANT USAGE ON SCHEMA insiders TO insiders_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA insiders TO insiders_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA insiders GRANT SELECT ON TABLES TO insiders_reader;
