"""Provisioning Metabase step by step (database, collection, cards, dashboard), and the resync."""

from __future__ import annotations

import logging
from typing import Any

from insiders.metabase.cards import CARDS, COLLECTION_NAME, DASHBOARD_NAME, SCHEMA, _card_body
from insiders.metabase.client import MetabaseConfig, MetabaseError, _Client, _rows, _session

logger = logging.getLogger(__name__)


def _disable_tracking(client: _Client) -> None:
    """Turn anonymous usage tracking off (set-up turns it on, ignoring ``prefs.allow_tracking``)."""
    client.json(
        "PUT", "/api/setting/anon-tracking-enabled", {"value": False},
        what="turning off anonymous tracking (setting anon-tracking-enabled)",
    )


def _find_database(client: _Client, name: str) -> dict[str, Any] | None:
    matches = [d for d in _rows(client.json("GET", "/api/database", what="listing databases"))
               if d.get("name") == name]
    return min(matches, key=lambda d: d["id"]) if matches else None


def _database_body(config: MetabaseConfig) -> dict[str, Any]:
    if not config.reader_user or not config.reader_password:
        raise MetabaseError(
            "set INSIDERS_READER_USER and INSIDERS_READER_PASSWORD: the read-only warehouse login "
            "Metabase connects with (create it with `insiders warehouse create-reader`)"
        )
    if config.reader_user in {"postgres", config.writer_user}:
        raise MetabaseError(
            f"INSIDERS_READER_USER={config.reader_user!r} is the warehouse's writer: give Metabase the "
            "read-only login made by `insiders warehouse create-reader --user metabase`"
        )
    return {
        "name": config.database_name,
        "engine": "postgres",
        "details": {
            "host": config.warehouse_host,
            "port": config.warehouse_port,
            "dbname": config.warehouse_db,
            "user": config.reader_user,
            "password": config.reader_password,
            "ssl": config.warehouse_ssl,
            "schema-filters-type": "inclusion",
            "schema-filters-patterns": SCHEMA,
            "tunnel-enabled": False,
            "advanced-options": False,
        },
        "is_full_sync": True,
        "auto_run_queries": True,
    }


def _connection_advice(config: MetabaseConfig) -> str:
    where = f"{config.warehouse_host}:{config.warehouse_port}/{config.warehouse_db}"
    return (f"Metabase could not connect to the warehouse at {where} as {config.reader_user!r}: check "
            "INSIDERS_WAREHOUSE_HOST, INSIDERS_WAREHOUSE_PORT and INSIDERS_WAREHOUSE_DB as seen from the "
            "Metabase server (in compose, the service name, not localhost), that the warehouse is up, "
            "and INSIDERS_READER_USER / INSIDERS_READER_PASSWORD (`insiders warehouse create-reader`)")


def _sync_advice(database_name: str) -> str:
    return (f"Metabase cannot reach the warehouse database {database_name!r} with its stored "
            "connection: check that the warehouse is up and reachable from the Metabase server; if its "
            "address or the reader's password changed, run `insiders metabase provision` to update it")


def _ensure_database(client: _Client, config: MetabaseConfig, body: dict[str, Any]) -> tuple[int, str]:
    existing = _find_database(client, config.database_name)
    advice = {400: _connection_advice(config)}
    if existing is None:
        database = client.json(
            "POST", "/api/database", body, what=f"adding database {config.database_name!r}", advice=advice
        )
        action = "created"
    else:
        database = client.json(
            "PUT", f"/api/database/{existing['id']}", body,
            what=f"updating database {config.database_name!r}", advice=advice,
        )
        action = "updated"
    database_id = int((database or existing or {})["id"])
    client.json("POST", f"/api/database/{database_id}/sync_schema", what="syncing the warehouse schema",
                advice={422: _sync_advice(config.database_name)})
    logger.info("%s Metabase database %r (id %d)", action, config.database_name, database_id)
    return database_id, action


def _ensure_collection(client: _Client) -> tuple[int, str]:
    collections = _rows(client.json("GET", "/api/collection", what="listing collections"))
    matches = [
        c for c in collections
        if isinstance(c.get("id"), int) and c.get("name") == COLLECTION_NAME and not c.get("archived")
        and c.get("personal_owner_id") is None and c.get("location", "/") == "/"
    ]
    if matches:
        return min(c["id"] for c in matches), "found"
    body = {
        "name": COLLECTION_NAME,
        "color": "#509EE3",
        "description": "The Insiders loyalty programme: questions and dashboard provisioned by "
        "`insiders metabase provision` (edits here are overwritten on the next run).",
    }
    collection = client.json("POST", "/api/collection", body, what="creating collection 'Insiders'")
    return int(collection["id"]), "created"


def _items(client: _Client, collection_id: int, model: str) -> dict[str, int]:
    """``{name: id}`` of the collection's items of one model, dashboard questions included."""
    answer = client.json(
        "GET", f"/api/collection/{collection_id}/items",
        params={"models": model, "show_dashboard_questions": "true"},
        what=f"listing the {model}s of collection 'Insiders'",
    )
    found: dict[str, int] = {}
    for item in sorted(_rows(answer), key=lambda i: i.get("id", 0)):
        if item.get("model", model) == model and not item.get("archived"):
            found.setdefault(item["name"], int(item["id"]))
    return found


def _ensure_dashboard(
    client: _Client, collection_id: int, card_ids: dict[str, int]
) -> tuple[int, str]:
    existing = _items(client, collection_id, "dashboard").get(DASHBOARD_NAME)
    description = ("Who the Insiders are, how many, their share of revenue, who enters and leaves, "
                   "and the revenue expected from them. Refreshed by the monthly run.")
    if existing is None:
        dashboard = client.json(
            "POST", "/api/dashboard",
            {"name": DASHBOARD_NAME, "description": description, "collection_id": collection_id,
             "parameters": []},
            what="creating dashboard 'Insiders'",
        )
        dashboard_id, action = int(dashboard["id"]), "created"
    else:
        dashboard_id, action = existing, "updated"
    current = client.json("GET", f"/api/dashboard/{dashboard_id}", what="reading dashboard 'Insiders'")
    tabs = [{"id": t["id"], "name": t["name"]} for t in current.get("tabs") or []]
    first_tab = tabs[0]["id"] if tabs else None
    ours = set(card_ids.values())
    by_card = {}
    kept = []
    for dashcard in sorted(current.get("dashcards") or [], key=lambda d: d["id"]):
        if dashcard.get("card_id") in ours and dashcard["card_id"] not in by_card:
            by_card[dashcard["card_id"]] = dashcard
        else:  # someone's own addition (or a duplicate of ours): keep it as it is
            kept.append({k: dashcard.get(k) for k in ("id", "card_id", "row", "col", "size_x", "size_y",
                                                       "parameter_mappings", "visualization_settings",
                                                       "series", "dashboard_tab_id")})
    dashcards = []
    for n, spec in enumerate(CARDS, start=1):
        card_id = card_ids[spec.name]
        col, row, size_x, size_y = spec.layout
        previous = by_card.get(card_id)
        dashcard = {
            "id": previous["id"] if previous else -n,
            "card_id": card_id,
            "row": row,
            "col": col,
            "size_x": size_x,
            "size_y": size_y,
            "parameter_mappings": [],
            "visualization_settings": {},
            "series": [],
        }
        if first_tab is not None:
            dashcard["dashboard_tab_id"] = (previous or {}).get("dashboard_tab_id") or first_tab
        dashcards.append(dashcard)
    body = {"name": DASHBOARD_NAME, "description": description, "collection_id": collection_id,
            "dashcards": dashcards + kept, "tabs": tabs}
    client.json(
        "PUT", f"/api/dashboard/{dashboard_id}", body, what="putting the cards on dashboard 'Insiders'"
    )
    return dashboard_id, action


def provision(config: MetabaseConfig) -> dict[str, Any]:
    """Bring Metabase to the described state: set-up or login, database, collection, cards, dashboard.

    Idempotent: a second run finds everything by name and updates it in place.

    Returns:
        ``{"url", "version" (the server's, e.g. ``v0.59.6``), "setup" (True when this run did the
        first-run set-up), "database_id", "collection_id", "card_ids" {name: id}, "dashboard_id",
        "dashboard_url", "created" [...], "updated" [...]}``, the last two naming what this run
        created or updated (``"database:<name>"``, ``"collection:Insiders"``, ``"card:<name>"``,
        ``"dashboard:Insiders"``).

    Raises:
        MetabaseError: Metabase not reachable or older than :data:`MINIMUM_VERSION`, login or set-up
        refused, the warehouse connection refused, a payload refused; the message says what to check.
    """
    client = _Client(config)
    created: list[str] = []
    updated: list[str] = []
    try:
        database_body = _database_body(config)  # checked before anything is sent
        setup, version = _session(client, config)
        _disable_tracking(client)
        database_id, action = _ensure_database(client, config, database_body)
        (created if action == "created" else updated).append(f"database:{config.database_name}")
        collection_id, action = _ensure_collection(client)
        if action == "created":
            created.append(f"collection:{COLLECTION_NAME}")
        existing_cards = _items(client, collection_id, "card")
        card_ids: dict[str, int] = {}
        for spec in CARDS:
            body = _card_body(spec, database_id, collection_id)
            if spec.name in existing_cards:
                card_id = existing_cards[spec.name]
                client.json("PUT", f"/api/card/{card_id}", body, what=f"updating question {spec.name!r}")
                updated.append(f"card:{spec.name}")
            else:
                card = client.json("POST", "/api/card", body, what=f"creating question {spec.name!r}")
                card_id = int(card["id"])
                created.append(f"card:{spec.name}")
            card_ids[spec.name] = card_id
        dashboard_id, action = _ensure_dashboard(client, collection_id, card_ids)
        (created if action == "created" else updated).append(f"dashboard:{DASHBOARD_NAME}")
    finally:
        client.close()
    logger.info("Metabase provisioned: created %s; updated %s", created or "nothing", updated or "nothing")
    return {
        "url": client.base,
        "version": version,
        "setup": setup,
        "database_id": database_id,
        "collection_id": collection_id,
        "card_ids": card_ids,
        "dashboard_id": dashboard_id,
        "dashboard_url": f"{client.base}/dashboard/{dashboard_id}",
        "created": created,
        "updated": updated,
    }


def resync(config: MetabaseConfig) -> dict[str, Any]:
    """Ask Metabase to sync the warehouse's schema and rescan its field values (after a load).

    Needs only ``url``, ``admin_email``, ``admin_password`` and ``database_name`` of the config.
    Both calls start background jobs in Metabase and return at once.

    Returns:
        ``{"database_id": id, "version": the server's, "sync_schema": answer, "rescan_values": answer}``.

    Raises:
        MetabaseError: not reachable or too old, login refused, no database of that name (run
        ``insiders metabase provision`` first), or the warehouse unreachable from Metabase (422).
    """
    client = _Client(config)
    try:
        _, version = _session(client, config, allow_setup=False)
        database = _find_database(client, config.database_name)
        if database is None:
            raise MetabaseError(
                f"Metabase at {client.base} has no database named {config.database_name!r}: run "
                "`insiders metabase provision` first (or set MB_DATABASE_NAME)"
            )
        database_id = int(database["id"])
        sync = client.json("POST", f"/api/database/{database_id}/sync_schema", what="syncing the schema",
                           advice={422: _sync_advice(config.database_name)})
        rescan = client.json("POST", f"/api/database/{database_id}/rescan_values", what="rescanning values")
    finally:
        client.close()
    logger.info("asked Metabase to sync and rescan database %r (id %d)", config.database_name, database_id)
    return {"database_id": database_id, "version": version, "sync_schema": sync, "rescan_values": rescan}
