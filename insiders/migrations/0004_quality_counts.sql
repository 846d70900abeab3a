-- 0004: the data-quality checks of every run (issue 13): lines per rule, the threshold, what
-- was done (quarantined, dropped, kept, passed, refused), beside filter_counts.
CREATE TABLE insiders.quality_counts (
    run_month date NOT NULL REFERENCES insiders.runs ON DELETE CASCADE,
    rule text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('line', 'file', 'info')),
    description text,
    threshold text,
    action text NOT NULL,
    lines bigint NOT NULL,
    share double precision,
    revenue double precision,
    PRIMARY KEY (run_month, rule)
);
ALTER TABLE insiders.runs ADD COLUMN lines_quarantined bigint;
COMMENT ON TABLE insiders.quality_counts IS
    'lines per data-quality rule of each run month (insiders.quality): quarantined lines never reach the segments';

-- loads serialise on a lock the read-only role cannot take (LOCK TABLE in this mode needs
-- write privileges); the reader has no privilege on it at all
CREATE TABLE insiders.load_lock (id integer PRIMARY KEY);
REVOKE ALL ON insiders.load_lock FROM insiders_reader;
GRANT SELECT ON insiders.quality_counts TO insiders_reader;
