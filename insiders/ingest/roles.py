"""Which column of an unknown export plays which role, judged from its name *and* its values.

Each column's values are looked at first (:func:`value_kind`): dates, money with decimals,
small whole counts, identifiers, statuses, currency codes or other text. A role takes only
columns whose values fit it (:data:`ROLE_KINDS`); among those, the column whose name says
the role (:data:`ROLE_WORDS`) comes first. A role is **ambiguous** when two columns fit it
equally well (two money columns named like totals, a date role with no date-like name but two
date columns): the proposal then shows the candidates with a few values each and never picks
one silently. :func:`propose_columns` returns the map a run can take (``--columns``) and says
what is missing or ambiguous; :mod:`insiders.ingest.inspection` checks it on the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insiders.ingest.dates import parse_dates
from insiders.ingest.errors import IngestError
from insiders.ingest.non_sales import TOTAL_LABEL

#: Words that name each role in the headers shops write (English, Spanish, German, French),
#: and words that say a header is NOT the role (``item_name`` is no product code).
ROLE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "date": (("date", "time", "ts", "timestamp", "created", "fecha", "datum", "day", "dt",
              "when", "purchased", "ordered"), ()),
    "customer": (("customer", "client", "cliente", "email", "mail", "card", "member", "user",
                  "buyer", "account", "kunde", "shopper", "loyalty", "socio"), ()),
    "invoice": (("order", "invoice", "ticket", "basket", "receipt", "transaction", "bon",
                 "pedido", "factura", "ref", "reference", "txn", "commande"), ("date", "time")),
    "amount": (("total", "amount", "importe", "value", "revenue", "sum", "betrag", "net",
                "paid", "subtotal", "montant", "gross", "sales", "spend"), ("unit", "tax", "vat")),
    "unit_price": (("price", "precio", "preis", "prix", "unitprice", "rate"), ("total",)),
    "quantity": (("qty", "quantity", "cantidad", "cant", "units", "menge", "pieces", "pcs",
                  "quantite", "count", "items"), ()),
    "product": (("sku", "ean", "product", "item", "article", "articulo", "stock", "code", "upc",
                 "barcode", "artikel", "plu", "gtin"), ("name", "description", "desc", "title")),
    "description": (("name", "description", "descripcion", "desc", "title", "label",
                     "bezeichnung", "libelle"), ("customer", "client", "store", "shop")),
    "country": (("country", "pais", "land", "pays", "nation"), ()),
    "status": (("status", "state", "type", "tipo", "kind", "estado", "financial"), ()),
    "currency": (("currency", "moneda", "waehrung", "devise", "cur", "ccy"), ()),
}

#: The value kinds each role takes.
ROLE_KINDS: dict[str, frozenset[str]] = {
    "date": frozenset({"date"}),
    "customer": frozenset({"identifier", "email"}),
    "invoice": frozenset({"identifier"}),
    "amount": frozenset({"money", "count"}),
    "unit_price": frozenset({"money", "count"}),
    "quantity": frozenset({"count"}),
    "product": frozenset({"identifier", "text"}),
    "description": frozenset({"text"}),
    "country": frozenset({"text", "status"}),
    "status": frozenset({"status"}),
    "currency": frozenset({"currency"}),
}

#: The order roles are settled in: a column taken by one is no candidate of a later one.
ROLE_ORDER = ("date", "currency", "customer", "amount", "quantity", "unit_price", "invoice",
              "status", "product", "description", "country")

_MONEY = re.compile(r"[-+]?(?:\d{1,3}(?:[.,\s']\d{3})+|\d+)(?:[.,]\d+)?")
_DECIMALS = re.compile(r".*[.,]\d{1,4}$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_WORDS = re.compile(r"[a-z]+|[A-Z][a-z]*|[0-9]+")


@dataclass
class ColumnLook:
    """One column as the proposal sees it: its kind and a few distinct values."""

    name: str
    kind: str
    examples: list[str]


@dataclass
class Proposal:
    """The roles proposed for an export's columns.

    Attributes:
        columns: each column's look, in the file's order.
        roles: role -> the column proposed (only the unambiguous ones).
        ambiguous: role -> its equally good candidates (none of them proposed).
        missing: the required roles no column fits.
    """

    columns: list[ColumnLook]
    roles: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every required role has its one column, and no role is in doubt."""
        return not self.missing and not self.ambiguous

    def column_map(self) -> str:
        """The ``--columns`` value: ``role=Column`` pairs, the file's column order."""
        order = {c.name: i for i, c in enumerate(self.columns)}
        pairs = sorted(self.roles.items(), key=lambda kv: order.get(kv[1], 0))
        return ",".join(f"{role}={column}" for role, column in pairs)

    def look(self, name: str) -> ColumnLook:
        return next(c for c in self.columns if c.name == name)


def header_words(name: str) -> set[str]:
    """A header's words, lower case: ``lineTotal``, ``line_total`` and ``Line Total`` all
    give ``{"line", "total"}``; the whole name joined is one word too (``linetotal``)."""
    words = {w.lower() for w in _WORDS.findall(str(name))}
    return words | {"".join(sorted(words, key=str(name).lower().find))}


def name_score(role: str, name: str) -> int:
    """2 when a word of the header names the role, 1 when a role word is inside one of its
    words (``orderref`` holds ``order``), 0 when it says nothing; -1 when it says it is not."""
    words = header_words(name)
    yes, no = ROLE_WORDS[role]
    if words & set(no):
        return -1
    if words & set(yes):
        return 2
    return 1 if any(y in w for w in words for y in yes if len(y) > 3) else 0


def value_kind(values: pd.Series, name: str) -> str:
    """What a column's values look like: ``date``, ``currency``, ``email``, ``money``,
    ``count``, ``identifier``, ``status``, ``text`` or ``empty``."""
    present = values.dropna()
    text = present.astype("str").str.strip()
    text = text[text != ""]
    if text.empty:
        return "empty"
    if _is_dates(present.loc[text.index], name):
        return "date"
    distinct = text.unique()
    if len(distinct) <= 10 and all(_CURRENCY.fullmatch(t) for t in distinct):
        return "currency"
    if text.map(lambda t: bool(_EMAIL.fullmatch(t))).mean() > 0.9:
        return "email"
    if text.map(lambda t: bool(_MONEY.fullmatch(t))).all():
        return _number_kind(text, len(distinct))
    if len(distinct) <= 20 and len(distinct) < len(text) / 5:
        return "status"
    return "identifier" if _identifier_like(text, distinct) else "text"


def _number_kind(text: pd.Series, n_distinct: int) -> str:
    """Numbers: money when some have decimals, counts when small and whole, else ids."""
    decimals = text.map(lambda t: bool(_DECIMALS.fullmatch(t)) and not re.fullmatch(
        r"[-+]?\d{1,3}([.,]\d{3})+", t)).mean()
    if decimals > 0.05:
        return "money"
    whole = pd.to_numeric(text.str.replace(r"[.,\s']", "", regex=True), errors="coerce")
    leading_zero = text.str.match(r"0\d").any()
    if not leading_zero and whole.abs().median() <= 1000 and n_distinct <= 1000:
        return "count"
    return "identifier"


def _identifier_like(text: pd.Series, distinct: np.ndarray) -> bool:
    """Codes rather than prose: mostly one token with digits, or many distinct short tokens."""
    one_token = ~text.str.contains(r"\s")
    with_digits = text.str.contains(r"\d")
    return bool((one_token & with_digits).mean() > 0.8
                or (one_token.mean() > 0.9 and len(distinct) > len(text) / 2))


def _is_dates(values: pd.Series, name: str) -> bool:
    """Whether the reader reads every value as a date (in one form, unambiguously)."""
    def fail(column, i, problem, hint):
        return IngestError("", problem)

    try:
        parse_dates(values.reset_index(drop=True), "invoice_date", None, fail)
    except (IngestError, ValueError, TypeError, OverflowError):
        return False
    return True


def propose_columns(frame: pd.DataFrame, sample: int = 20_000) -> Proposal:
    """The roles of ``frame``'s columns (its first ``sample`` rows looked at, without the
    rows that are no line: the header again, a total row)."""
    head = _lines_only(frame.head(sample))
    looks = [ColumnLook(str(c), value_kind(head[c], str(c)), _examples(head[c]))
             for c in head.columns]
    proposal = Proposal(looks)
    taken: set[str] = set()
    for role in ROLE_ORDER:
        fit = [(name_score(role, c.name), c.name) for c in looks
               if c.kind in ROLE_KINDS[role] and c.name not in taken]
        fit = [(score, name) for score, name in fit if score >= 0]
        if not fit:
            continue
        best = max(score for score, _ in fit)
        top = [name for score, name in fit if score == best]
        if best == 0 and role not in ("date", "customer", "amount"):
            continue  # an optional role is proposed only where a name says it
        if best < 2:  # a column named for the role whose values say otherwise: in doubt
            top += [c.name for c in looks if c.name not in taken and c.name not in top
                    and name_score(role, c.name) == 2 and c.kind != "empty"]
        if len(top) > 1:
            proposal.ambiguous[role] = top
            taken.update(top)
        else:
            proposal.roles[role] = top[0]
            taken.add(top[0])
    _settle_prices(proposal)
    proposal.missing = [r for r in ("customer", "date") if r not in proposal.roles
                        and r not in proposal.ambiguous]
    if not ({"amount"} <= proposal.roles.keys() or {"quantity", "unit_price"} <= proposal.roles.keys()
            or "amount" in proposal.ambiguous or "unit_price" in proposal.ambiguous):
        proposal.missing.append("amount (or quantity and unit_price)")
    return proposal


def _settle_prices(proposal: Proposal) -> None:
    """The line's amount is what was paid: with an amount column, a unit price is left out
    (with a discount column beside them, quantity x unit price is not what was paid); an
    amount named by no word is kept only when no unit price and quantity say the same."""
    roles = proposal.roles
    if "amount" in roles and name_score("amount", roles["amount"]) == 0 and {
            "quantity", "unit_price"} <= roles.keys():
        del roles["amount"]
    if "amount" in roles:
        roles.pop("unit_price", None)


def _lines_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that may be lines: not the header again, not a row labelled total."""
    text = frame.astype("str").apply(lambda column: column.str.strip())
    header = pd.Series(True, index=frame.index)
    for column in frame.columns:
        header &= (text[column] == str(column).strip()) | frame[column].isna()
    total = text.apply(lambda column: column.map(
        lambda t: isinstance(t, str) and bool(TOTAL_LABEL.fullmatch(t))))
    return frame[~header & ~total.any(axis=1)]


def _examples(values: pd.Series, n: int = 3) -> list[str]:
    seen: list[str] = []
    for value in values.dropna():
        text = str(value).strip()
        if text and text not in seen:
            seen.append(text)
        if len(seen) == n:
            break
    return seen
