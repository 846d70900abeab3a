"""The error of input that cannot be read, and the first row a check marks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from insiders.errors import InputError


class IngestError(InputError):
    """Input that cannot be read; the message names the file, row, column and value.

    Attributes mirror the message so that callers (and tests) can check them.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        row: str | None = None,
        column: str | None = None,
        value: Any = None,
        hint: str | None = None,
    ) -> None:
        self.source, self.problem, self.row, self.column = source, problem, row, column
        self.value, self.hint = value, hint
        where = ", ".join(
            part
            for part in (
                row,
                f"column '{column}'" if column else None,
                f"value {value!r}" if value is not None else None,
            )
            if part
        )
        message = f"{source}: {problem}"
        if where:
            message += f" ({where})"
        if hint:
            message += f". {hint}"
        super().__init__(message)


def first_bad(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])
