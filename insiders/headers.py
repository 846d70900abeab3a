"""The report's vocabulary: the header a reader sees for each table column and feature, and
the features' axis labels with their unit."""

from __future__ import annotations

#: The header a reader sees for each column of the report's tables (and each feature's name).
HEADERS: dict[str, str] = {
    "selected_by": "Selected by (same number of customers)",
    "share_insiders": "Insiders among them",
    # customers and their features
    "customer_id": "Customer", "customer": "Customer", "gross_revenue": "Revenue",
    "recency_days": "Days since last purchase",
    "n_lines": "Purchase lines", "frequency": "Invoices per 30 days", "qty_returned": "Units returned",
    "n_invoices": "Invoices", "n_items": "Units bought", "n_products": "Distinct products",
    "avg_ticket": "Mean revenue per line", "avg_basket_size": "Units per invoice",
    "avg_unique_basket_size": "Distinct products per invoice",
    "avg_days_between_purchases": "Days between purchases", "n_returns": "Return lines",
    "value_returned": "Value returned",
    # Insiders against the rest (Q3)
    "feature_label": "Feature", "insiders_q1": "Insiders: lower quartile",
    "insiders_median": "Insiders: median", "insiders_q3": "Insiders: upper quartile",
    "rest_q1": "Rest: lower quartile", "rest_median": "Rest: median",
    "rest_q3": "Rest: upper quartile", "median_ratio": "Insiders vs rest (median)",
    # segments (Q3, Q9)
    "segment_id": "Segment", "segment_name": "Name", "n_customers": "Customers",
    "customers": "Customers", "share_customers": "Share of customers",
    "share_revenue": "Share of revenue", "mean_gross_revenue": "Mean revenue",
    "mean_recency_days": "Mean days since last purchase", "mean_n_lines": "Mean purchase lines",
    "mean_frequency": "Mean invoices per 30 days", "mean_qty_returned": "Mean units returned",
    "actions": "What to do",
    # forecast (Q5)
    "month": "Month", "expected": "Forecast", "naive": "Naive forecast", "actual": "Actual",
    "model": "Model forecast",
    # membership (Q7)
    "reference_date": "Monthly run (data up to)", "insiders": "Insiders", "entered": "Joined",
    "left": "Left", "stayed_share": "Stayed (of previous month)",
    # out of time (Q8)
    "group": "Group", "revenue_after": "Revenue after selection",
    "revenue_per_customer": "Revenue per customer after", "share_of_revenue_after":
        "Share of revenue after",
    # how this was chosen
    "rank": "Rank", "candidate": "Model (space/method/k)", "n_clusters": "Segments",
    "noise_share": "Unassigned", "silhouette": "Silhouette (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "rule": "Filter", "description": "What it removes", "lines_removed": "Lines removed",
}

FEATURE_AXES = {  # the features' headers, with their unit where they have one
    **{name: HEADERS[name] for name in (
        "recency_days", "n_lines", "frequency", "qty_returned", "n_invoices", "n_items",
        "n_products", "avg_basket_size", "avg_unique_basket_size", "avg_days_between_purchases",
        "n_returns")},
    **{name: f"{HEADERS[name]} ({{currency}})" for name in (
        "gross_revenue", "avg_ticket", "value_returned")},
}
