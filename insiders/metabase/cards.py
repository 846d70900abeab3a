"""The Metabase content as code: the collection, the dashboard and its questions (cards)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from insiders import queries

COLLECTION_NAME = "Insiders"
DASHBOARD_NAME = "Insiders"
SCHEMA = "insiders"
#: The warehouse objects the questions may read (schema ``insiders``).
WAREHOUSE_OBJECTS = frozenset(queries.TABLES + queries.VIEWS)


@dataclass(frozen=True)
class CardSpec:
    """One question: a native SQL query on schema ``insiders`` and how to show it."""

    name: str
    description: str
    sql: str
    display: str
    visualization_settings: dict[str, Any]
    #: (col, row, size_x, size_y) on the dashboard's 24-column grid.
    layout: tuple[int, int, int, int]


def _percent(*columns: str) -> dict[str, Any]:
    return {f'["name","{c}"]': {"number_style": "percent", "decimals": 1} for c in columns}


#: The dashboard's questions, in the order they appear on it.
CARDS: tuple[CardSpec, ...] = (
    CardSpec(
        name="Insiders per month: count and revenue share",
        description="Number of Insiders each run month and their share of revenue and of customers "
        "(view insiders.insiders_by_month).",
        sql="""SELECT run_month,
       insiders,
       insiders_share_revenue AS revenue_share,
       insiders_share_customers AS customer_share,
       customers
FROM insiders.insiders_by_month
ORDER BY run_month""",
        display="line",
        visualization_settings={
            "graph.dimensions": ["run_month"],
            "graph.metrics": ["insiders", "revenue_share"],
            "series_settings": {"revenue_share": {"axis": "right", "title": "Share of revenue"}},
            "column_settings": _percent("revenue_share", "customer_share"),
        },
        layout=(0, 0, 12, 6),
    ),
    CardSpec(
        name="Insiders entries and exits per month",
        description="Customers who entered and who left Insiders against the previous run month "
        "(insiders.membership_history; months without a change show 0).",
        sql="""SELECT r.run_month,
       count(m.customer_id) FILTER (WHERE m.change = 'entered') AS entered,
       count(m.customer_id) FILTER (WHERE m.change = 'left') AS exited
FROM insiders.runs r
LEFT JOIN insiders.membership_history m ON m.run_month = r.run_month
GROUP BY r.run_month
ORDER BY r.run_month""",
        display="bar",
        visualization_settings={
            "graph.dimensions": ["run_month"],
            "graph.metrics": ["entered", "exited"],
        },
        layout=(12, 0, 12, 6),
    ),
    CardSpec(
        name="Segment profiles, latest month",
        description="Every segment of the latest run month: size, shares and mean features "
        "(insiders.segment_profiles), best first.",
        sql="""SELECT p.segment_id,
       p.segment_name,
       p.mostly_insiders,
       p.n_customers,
       p.share_customers,
       p.revenue,
       p.share_revenue,
       p.mean_gross_revenue,
       p.mean_recency_days,
       p.mean_n_lines,
       p.mean_frequency,
       p.mean_qty_returned,
       p.run_month
FROM insiders.segment_profiles p
WHERE p.run_month = (SELECT max(run_month) FROM insiders.runs)
ORDER BY p.mean_gross_revenue DESC""",
        display="table",
        visualization_settings={"column_settings": _percent("share_customers", "share_revenue")},
        layout=(0, 6, 24, 6),
    ),
    CardSpec(
        name="Insiders revenue forecast",
        description="Expected revenue from Insiders in the coming months, next to the naive "
        "forecast it is back-tested against (insiders.forecasts, latest run month).",
        sql="""SELECT f.month,
       f.model,
       f.expected_revenue,
       f.naive_revenue,
       f.run_month
FROM insiders.forecasts f
WHERE f.run_month = (SELECT max(run_month) FROM insiders.forecasts)
ORDER BY f.month, f.model""",
        display="line",
        visualization_settings={
            "graph.dimensions": ["month"],
            "graph.metrics": ["expected_revenue", "naive_revenue"],
        },
        layout=(0, 12, 24, 6),
    ),
    CardSpec(
        name="Current Insiders",
        description="The customers in Insiders as of the latest run month, highest revenue first "
        "(view insiders.current_insiders).",
        sql="""SELECT c.customer_id,
       c.customer_key,
       c.segment_name,
       c.gross_revenue,
       c.recency_days,
       c.n_lines,
       c.n_invoices,
       c.frequency,
       c.qty_returned,
       c.run_month
FROM insiders.current_insiders c
ORDER BY c.gross_revenue DESC""",
        display="table",
        visualization_settings={},
        layout=(0, 18, 24, 9),
    ),
)



def _card_body(spec: CardSpec, database_id: int, collection_id: int) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "type": "question",
        "collection_id": collection_id,
        "display": spec.display,
        "visualization_settings": spec.visualization_settings,
        "dataset_query": {
            "type": "native",
            "native": {"query": spec.sql, "template-tags": {}},
            "database": database_id,
        },
    }
