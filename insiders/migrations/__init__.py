"""The warehouse's versioned migrations: ``NNNN_name.sql``, applied in order by
:func:`insiders.warehouse.migrate` and recorded in ``insiders.schema_migrations``.

To change the schema, add a file with the next number (``0003_what_it_does.sql``); never edit
one a warehouse may have applied. Each runs once, in one transaction with its record, so it
needs no ``IF NOT EXISTS`` and cannot hold ``COMMIT`` or ``CREATE INDEX CONCURRENTLY``.
A new table goes into ``warehouse.TABLES``; a view over a changed table (``current_insiders``
is ``c.*``) is recreated in the same file; grant the reader what the file creates.
"""
