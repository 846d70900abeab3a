"""The Jinja2 environments of the report and of the Airflow plugin page: templates from the
package (``insiders/templates``), the formatters of :mod:`insiders.formats` as filters.

Light: Jinja2 and the standard library only (the plugin renders with it in the API server).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

from insiders import formats

_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")


def markdown_text(value: Any) -> str:
    """Free text for a Markdown line or table cell: a ``<`` that would open a raw HTML tag and
    an ``&`` that would start an entity are backslash-escaped, ``|`` too (cells), newlines
    become spaces; other text is left readable (``recency_days <= 25``)."""
    out = formats.text(value)
    out = _MD_ENTITY.sub(r"\\&", _MD_TAG.sub(r"\\<", out))
    return out.replace("|", "\\|").replace("\n", " ")


def cell(row: dict[str, Any], column: Any, currency: str = formats.DEFAULT_CURRENCY) -> str:
    """A table cell: ``row[column.key]`` formatted as ``column.kind``; kind ``feature``
    formats by the feature named in the row's ``feature`` cell."""
    kind = column.kind
    if kind == "feature":
        kind = formats.FEATURE_KINDS.get(row["feature"], "number:2")
    return formats.fmt(row[column.key], kind, currency)


@functools.lru_cache(maxsize=8)
def environment(kind: str, currency: str = formats.DEFAULT_CURRENCY) -> jinja2.Environment:
    """``html`` (autoescaped) or ``md`` (not: Markdown escapes with the ``md`` filter)."""
    if kind not in ("html", "md"):
        raise ValueError(f"kind is 'html' or 'md', not {kind!r}")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("insiders", "templates"),
        autoescape=kind == "html", undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    formats.register(env, currency)
    env.filters["cell"] = functools.partial(cell, currency=currency)
    env.filters["md"] = markdown_text
    return env


def render(template: str, context: dict[str, Any], *, currency: str = formats.DEFAULT_CURRENCY) -> str:
    """Render a package template; ``.html.j2`` ones are autoescaped."""
    kind = "html" if template.endswith(".html.j2") else "md"
    return environment(kind, currency).get_template(template).render(context)
