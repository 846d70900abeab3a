"""The errors a user can act on: bad input or a choice that cannot work.

A leaf module. :class:`InputError` is what the CLI turns into ``error: ...`` and exit 2, and
what the Airflow DAG fails at once without retry (retrying the same input cannot help); any
other exception is a fault (a bug, or a transient outage that a retry may cure).
"""

from __future__ import annotations

__all__ = ["InputError", "RunFolderError"]


class InputError(ValueError):
    """The input or the run's choices cannot give a meaningful answer; the message says what
    was found (file, row, column, value where they exist) and what to do."""


class RunFolderError(InputError):
    """A run folder whose files do not belong to one run (a failed or partial rerun)."""
