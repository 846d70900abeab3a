"""Metabase provisioning against a stand-in of its REST API (tests/metabase/fake_metabase.py, NOT
Metabase: Metabase cannot run here), and the questions' SQL on a real Postgres warehouse."""

from __future__ import annotations

import json
import logging
import re
import socket

import psycopg
import pytest

from insiders import metabase, warehouse
from insiders.metabase import CARDS, WAREHOUSE_OBJECTS, MetabaseConfig, MetabaseError
from tests.metabase.fake_metabase import DEFAULT_VERSION, PROTECTED_PASSWORD, BadRequest, FakeMetabase

ADMIN = ("admin@example.com", "Adm1n-pass-xyz")
READER = ("metabase_reader", "reader-secret-1")
WRITER = ("insiders_writer", "writer-secret-9")
#: The warehouse the stand-in's connection test reaches (what make_config points at).
WAREHOUSE = ("db.internal", 5432, "insiders")


def make_config(fake: FakeMetabase, **overrides) -> MetabaseConfig:
    values = dict(
        url=fake.url,
        admin_email=ADMIN[0],
        admin_password=ADMIN[1],
        reader_user=READER[0],
        reader_password=READER[1],
        warehouse_host="db.internal",
        warehouse_port=5432,
        warehouse_db="insiders",
        writer_user=WRITER[0],
    )
    values.update(overrides)
    return MetabaseConfig(**values)


@pytest.fixture
def fresh():
    """A Metabase stand-in with no user yet, a sample database, and a warehouse at WAREHOUSE that
    only lets the reader in."""
    with FakeMetabase(warehouse_logins={READER[0]: READER[1]}, reachable={WAREHOUSE}) as fake:
        fake.add_database("Sample Database")
        yield fake


def test_first_run_sets_up_and_creates_database_cards_and_dashboard(fresh):
    result = metabase.provision(make_config(fresh))

    assert result["setup"] is True
    assert len(fresh.calls("POST", "/api/setup")) == 1 and not fresh.calls("POST", "/api/session")
    assert fresh.site_name == "Insiders"
    assert fresh.users[ADMIN[0]]["password"] == ADMIN[1]
    db = fresh.databases[result["database_id"]]
    assert db["name"] == "Insiders warehouse" and db["engine"] == "postgres"
    assert ("sync_schema", result["database_id"]) in fresh.syncs
    (collection,) = fresh.collections.values()
    assert collection["name"] == "Insiders" and result["collection_id"] == collection["id"]
    assert sorted(c["name"] for c in fresh.cards.values()) == sorted(s.name for s in CARDS)
    for card in fresh.cards.values():
        assert card["collection_id"] == collection["id"]
        assert card["dataset_query"]["type"] == "native"
        assert card["dataset_query"]["database"] == result["database_id"]
    (dashboard,) = fresh.dashboards.values()
    assert dashboard["name"] == "Insiders" and dashboard["collection_id"] == collection["id"]
    on_dashboard = [dc["card_id"] for dc in fresh.dashcards.values() if dc["dashboard_id"] == dashboard["id"]]
    assert sorted(on_dashboard) == sorted(result["card_ids"].values()) and len(on_dashboard) == 5
    assert result["dashboard_url"] == f"{fresh.url}/dashboard/{dashboard['id']}"
    assert len(result["created"]) == 1 + 1 + 5 + 1 and result["updated"] == []


def test_second_run_creates_nothing_and_updates_in_place(fresh):
    config = make_config(fresh)
    first = metabase.provision(config)
    before = {kind: set(getattr(fresh, kind)) for kind in
              ("databases", "collections", "cards", "dashboards", "dashcards")}
    some_card = first["card_ids"][CARDS[0].name]
    fresh.cards[some_card]["dataset_query"]["native"]["query"] = "SELECT 1"  # edited by hand
    fresh.cards[some_card]["display"] = "pie"

    second = metabase.provision(config)

    assert second["setup"] is False and len(fresh.calls("POST", "/api/setup")) == 1  # logged in
    assert second["created"] == []
    assert sorted(second["updated"]) == sorted(
        ["database:Insiders warehouse", "dashboard:Insiders", *[f"card:{s.name}" for s in CARDS]]
    )
    for key in ("database_id", "collection_id", "card_ids", "dashboard_id"):
        assert second[key] == first[key]
    after = {kind: set(getattr(fresh, kind)) for kind in before}
    assert after == before  # same ids everywhere, dashcards included
    assert fresh.cards[some_card]["dataset_query"]["native"]["query"] == CARDS[0].sql
    assert fresh.cards[some_card]["display"] == CARDS[0].display


def test_hand_added_dashcards_are_kept(fresh):
    config = make_config(fresh)
    first = metabase.provision(config)
    extra = max(fresh.cards) + 100
    fresh.cards[extra] = {"id": extra, "name": "Someone's question", "collection_id": None, "archived": False,
                          "display": "table", "dataset_query": {}}
    fresh.dashcards[extra] = {"id": extra, "dashboard_id": first["dashboard_id"], "card_id": extra,
                              "row": 40, "col": 0, "size_x": 4, "size_y": 4}
    metabase.provision(config)
    assert fresh.dashcards[extra]["card_id"] == extra
    assert len([d for d in fresh.dashcards.values() if d["dashboard_id"] == first["dashboard_id"]]) == 6


def test_set_up_instance_is_logged_into_not_set_up_again():
    with FakeMetabase(admin=ADMIN) as fake:
        result = metabase.provision(make_config(fake))
        assert result["setup"] is False
        assert not fake.calls("POST", "/api/setup")
        assert fake.calls("POST", "/api/session")[0][2] == {"username": ADMIN[0], "password": ADMIN[1]}
        assert fake.site_name == "Existing"  # an existing instance's settings are left alone
        assert len(fake.cards) == 5 and len(fake.dashboards) == 1


def test_wrong_admin_password_says_what_to_check():
    with FakeMetabase(admin=(ADMIN[0], "An0ther-password")) as fake:
        with pytest.raises(MetabaseError, match=r"login to Metabase .* failed") as info:
            metabase.provision(make_config(fake))
        assert "MB_ADMIN_PASSWORD" in str(info.value)
        assert "did not match stored password" in str(info.value)
        assert not fake.databases and not fake.cards  # nothing was attempted


def test_weak_admin_password_at_set_up_says_what_to_check(fresh):
    with pytest.raises(MetabaseError, match=r"set-up .* failed .*MB_ADMIN_PASSWORD"):
        metabase.provision(make_config(fresh, admin_password="short"))
    assert not fresh.users


def test_unreachable_metabase_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = MetabaseConfig(url=f"http://127.0.0.1:{port}", admin_email=ADMIN[0], admin_password=ADMIN[1],
                            reader_password=READER[1], timeout=2)
    with pytest.raises(MetabaseError, match=rf"not reachable at http://127.0.0.1:{port}.*MB_URL"):
        metabase.provision(config)
    with pytest.raises(MetabaseError, match="was not ready after"):
        metabase.resync(MetabaseConfig(url=config.url, admin_email=ADMIN[0], admin_password=ADMIN[1],
                                       wait_seconds=0.3, timeout=1))


def test_resync_syncs_and_rescans_the_warehouse_database(fresh):
    config = make_config(fresh)
    database_id = metabase.provision(config)["database_id"]
    fresh.add_database("Another warehouse", engine="postgres")
    fresh.syncs.clear()

    answer = metabase.resync(MetabaseConfig(url=fresh.url, admin_email=ADMIN[0], admin_password=ADMIN[1]))

    assert answer["database_id"] == database_id
    assert fresh.syncs == [("sync_schema", database_id), ("rescan_values", database_id)]
    assert len(fresh.calls("POST", "/api/setup")) == 1  # resync never sets anything up


def test_resync_before_provision_says_to_provision(fresh):
    config = MetabaseConfig(url=fresh.url, admin_email=ADMIN[0], admin_password=ADMIN[1])
    with pytest.raises(MetabaseError, match="not set up yet: run `insiders metabase provision`"):
        metabase.resync(config)
    with FakeMetabase(admin=ADMIN) as fake:
        with pytest.raises(MetabaseError, match=r"no database named 'Insiders warehouse'.*provision"):
            metabase.resync(MetabaseConfig(url=fake.url, admin_email=ADMIN[0], admin_password=ADMIN[1]))
        assert not fake.syncs


def test_database_uses_the_read_only_login_never_the_writer(fresh):
    metabase.provision(make_config(fresh))
    (db,) = [d for d in fresh.databases.values() if d["name"] == "Insiders warehouse"]
    assert db["details"]["user"] == READER[0] and db["details"]["password"] == READER[1]
    assert db["details"]["host"] == "db.internal" and db["details"]["dbname"] == "insiders"
    assert db["details"]["schema-filters-patterns"] == "insiders"
    sent = json.dumps([body for _method, _path, body in fresh.requests])
    assert WRITER[0] not in sent and WRITER[1] not in sent
    # what Metabase shows back is masked, and an update keeps the reader's stored password
    answer = fresh.handle("GET", "/api/database", {}, None, next(iter(fresh.sessions)))[1]
    assert {d["details"].get("password") for d in answer["data"] if d["engine"] == "postgres"} == {
        PROTECTED_PASSWORD
    }


def test_the_writer_is_refused_as_metabase_login(fresh):
    for user in (WRITER[0], "postgres"):
        with pytest.raises(MetabaseError, match=r"is the warehouse's writer.*create-reader"):
            metabase.provision(make_config(fresh, reader_user=user, reader_password=WRITER[1]))
    with pytest.raises(MetabaseError, match="INSIDERS_READER_PASSWORD"):
        metabase.provision(make_config(fresh, reader_password=None))
    assert not fresh.requests and not fresh.users  # refused before anything was sent


def test_a_reader_login_the_warehouse_refuses_is_reported(fresh):
    with pytest.raises(MetabaseError, match=r"adding database .*password authentication failed"):
        metabase.provision(make_config(fresh, reader_password="wrong-one"))


def test_config_from_env():
    env = {
        "MB_URL": "http://metabase:3000/",
        "MB_ADMIN_EMAIL": ADMIN[0],
        "MB_ADMIN_PASSWORD": ADMIN[1],
        "INSIDERS_READER_USER": READER[0],
        "INSIDERS_READER_PASSWORD": READER[1],
        "INSIDERS_WAREHOUSE_HOST": "rds.example.com",
        "INSIDERS_WAREHOUSE_PORT": "6543",
        "INSIDERS_WAREHOUSE_DB": "shop",
        "INSIDERS_WAREHOUSE_SSL": "true",
        "INSIDERS_WAREHOUSE_DSN": f"postgresql://{WRITER[0]}:{WRITER[1]}@rds.example.com/shop",
    }
    config = MetabaseConfig.from_env(env)
    assert (config.url, config.warehouse_host, config.warehouse_port, config.warehouse_db) == (
        "http://metabase:3000/", "rds.example.com", 6543, "shop"
    )
    assert config.warehouse_ssl and config.writer_user == WRITER[0]
    assert config.reader_user == READER[0] and config.reader_password == READER[1]
    assert ADMIN[1] not in repr(config) and READER[1] not in repr(config)  # no secret in logs
    with pytest.raises(MetabaseError, match="set MB_URL, MB_ADMIN_PASSWORD"):
        MetabaseConfig.from_env({"MB_ADMIN_EMAIL": ADMIN[0]})
    with pytest.raises(MetabaseError, match="INSIDERS_WAREHOUSE_PORT='x'"):
        MetabaseConfig.from_env({**env, "INSIDERS_WAREHOUSE_PORT": "x"})
    minimal = MetabaseConfig.from_env({k: env[k] for k in ("MB_URL", "MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD")})
    assert minimal.reader_user == "metabase" and minimal.reader_password is None


def test_every_question_reads_only_the_insiders_schema():
    names = [spec.name for spec in CARDS]
    assert len(set(names)) == len(names) == 5
    for spec in CARDS:
        sql = spec.sql.lower()
        sources = re.findall(r"\b(?:from|join)\s+([a-z_][\w.]*|\()", sql)
        assert sources, spec.name
        for source in sources:
            if source == "(":
                continue  # a subquery: its own FROM is checked by the same regex
            schema, _, name = source.partition(".")
            assert schema == "insiders" and name in WAREHOUSE_OBJECTS, (spec.name, source)
        assert set(re.findall(r"\binsiders\.(\w+)", sql)) <= WAREHOUSE_OBJECTS
        assert not re.search(r"\b(insert|update|delete|drop|alter|create|grant|truncate|copy)\b", sql)


def test_every_question_runs_on_the_warehouse_as_the_reader(warehouse_dsn):
    """Each card's SQL, executed as the read-only login on a real Postgres with the warehouse's own
    schema (insiders/migrations, forecasts included): a renamed column fails here."""
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.ensure_schema(conn)
        warehouse.create_reader(conn, "metabase_cards", "not-a-real-secret")
    reader_dsn = warehouse_dsn.replace("postgres@", "metabase_cards@")
    with psycopg.connect(reader_dsn) as conn:
        for spec in CARDS:
            cur = conn.execute(spec.sql)
            columns = {d.name for d in cur.description}
            cur.fetchall()
            settings = spec.visualization_settings
            wanted = set(settings.get("graph.dimensions", [])) | set(settings.get("graph.metrics", []))
            assert wanted <= columns, (spec.name, wanted - columns)


def test_the_fake_rejects_malformed_payloads_like_metabase():
    """The stand-in's own checks, so that the tests above mean something."""
    with FakeMetabase(admin=ADMIN) as fake:
        assert fake.handle("POST", "/api/card", {}, {"name": "x"}, None) == (401, "Unauthenticated")
        session = fake._new_session(ADMIN[0])
        db_id = fake.add_database("Sample Database")
        good = {"name": "q", "display": "table", "visualization_settings": {},
                "dataset_query": {"type": "native", "native": {"query": "SELECT 1"}, "database": db_id}}
        status, answer = fake.handle("POST", "/api/card", {}, good, session)
        assert status == 200
        for broken in ({k: v for k, v in good.items() if k != "display"},
                       {**good, "visualization_settings": None},
                       {**good, "dataset_query": {"type": "native", "native": {}, "database": db_id}}):
            with pytest.raises(BadRequest) as info:
                fake.handle("POST", "/api/card", {}, broken, session)
            assert set(info.value.errors) & {"display", "visualization_settings", "dataset_query"}
        dash = fake.handle("POST", "/api/dashboard", {}, {"name": "d"}, session)[1]
        bad_cards = [{"id": -1, "card_id": answer["id"], "row": 0, "col": 0, "size_x": 0, "size_y": 4}]
        with pytest.raises(BadRequest, match="size_x"):
            fake.handle("PUT", f"/api/dashboard/{dash['id']}", {}, {"dashcards": bad_cards}, session)
        assert fake.handle("POST", "/api/setup", {}, {}, None)[0] == 403


# ---------------------------------------------------------------- issue 14, item 4


def _session_of(fake: FakeMetabase) -> str:
    return next(iter(fake.sessions))


def test_anonymous_tracking_is_turned_off_after_set_up_and_on_every_run(fresh):
    """Set-up turns tracking on whatever prefs say; every provision turns it off again."""
    config = make_config(fresh)
    metabase.provision(config)
    (setup_call,) = fresh.calls("POST", "/api/setup")
    assert setup_call[2]["prefs"]["allow_tracking"] is False  # asked for, and ignored by v0.59
    assert fresh.settings["anon-tracking-enabled"] is False
    fresh.settings["anon-tracking-enabled"] = True  # e.g. someone ticked it in the admin settings

    metabase.provision(config)

    assert fresh.settings["anon-tracking-enabled"] is False
    puts = fresh.calls("PUT", "/api/setting/anon-tracking-enabled")
    assert [body for _m, _p, body in puts] == [{"value": False}, {"value": False}]
    properties = fresh.handle("GET", "/api/session/properties", {}, None, None)[1]
    assert properties["anon-tracking-enabled"] is False


def test_tracking_is_turned_off_on_an_instance_set_up_by_hand():
    with FakeMetabase(admin=ADMIN) as fake:
        assert fake.settings["anon-tracking-enabled"] is True
        metabase.provision(make_config(fake))
        assert fake.settings["anon-tracking-enabled"] is False


def test_a_question_moved_into_the_dashboard_is_not_created_again(fresh):
    """A dashboard question is hidden from the items list without show_dashboard_questions=true."""
    config = make_config(fresh)
    first = metabase.provision(config)
    moved = first["card_ids"][CARDS[2].name]
    fresh.cards[moved]["dashboard_id"] = first["dashboard_id"]  # "Move to dashboard" in the UI
    listed = fresh.handle("GET", f"/api/collection/{first['collection_id']}/items", {"models": ["card"]},
                          None, _session_of(fresh))[1]
    assert moved not in {item["id"] for item in listed["data"]} and listed["total"] == 4  # hidden

    second = metabase.provision(config)

    assert second["created"] == []
    assert len(fresh.cards) == 5 and second["card_ids"] == first["card_ids"]
    assert f"card:{CARDS[2].name}" in second["updated"]
    on_dashboard = [dc["card_id"] for dc in fresh.dashcards.values()
                    if dc["dashboard_id"] == first["dashboard_id"]]
    assert sorted(on_dashboard) == sorted(first["card_ids"].values())


@pytest.mark.parametrize("tag", ["v0.59.6", "v1.57.2", "v0.50.0"])
def test_the_version_reported_is_the_servers(tag, caplog):
    with FakeMetabase(admin=ADMIN, version=tag) as fake, caplog.at_level(logging.INFO, "insiders.metabase"):
        result = metabase.provision(make_config(fake))
        assert result["version"] == tag
        assert f"Metabase at {fake.url} is {tag}" in caplog.text
        assert metabase.resync(make_config(fake))["version"] == tag


def test_a_metabase_older_than_the_minimum_is_refused_before_anything_is_done():
    with FakeMetabase(version="v0.46.6") as fake:
        with pytest.raises(MetabaseError, match=r"is v0\.46\.6, older than v0\.50.*upgrade it") as info:
            metabase.provision(make_config(fake))
        assert DEFAULT_VERSION in str(info.value)  # what to upgrade to
        assert not fake.users and not fake.databases and not fake.calls("POST")


def test_an_unreachable_warehouse_is_reported_with_what_to_check(fresh):
    with pytest.raises(MetabaseError, match=r"adding database .*HTTP 400.*couldn't connect") as info:
        metabase.provision(make_config(fresh, warehouse_host="localhost"))
    message = str(info.value)
    assert "localhost:5432/insiders" in message and "INSIDERS_WAREHOUSE_HOST" in message
    assert "not localhost" in message
    with pytest.raises(MetabaseError, match=r"Database name is incorrect.*INSIDERS_WAREHOUSE_DB"):
        metabase.provision(make_config(fresh, warehouse_db="shop"))
    assert [d["name"] for d in fresh.databases.values()] == ["Sample Database"]  # nothing added


def test_sync_of_a_warehouse_that_became_unreachable_says_what_to_do(fresh):
    config = make_config(fresh)
    database_id = metabase.provision(config)["database_id"]
    fresh.syncs.clear()
    fresh.reachable = set()  # the warehouse went away

    with pytest.raises(MetabaseError, match=r"syncing the schema \(HTTP 422\): Connection to "
                                            r"db\.internal:5432 refused.*insiders metabase provision"):
        metabase.resync(config)
    assert fresh.syncs == []
    assert fresh.handle("POST", f"/api/database/{database_id}/sync_schema", {}, None,
                        _session_of(fresh))[0] == 422


@pytest.mark.parametrize("password", ["password", "12345678", "metabase", "admin123", "Sh0rt-x"])
def test_set_up_refuses_common_and_short_admin_passwords(fresh, password):
    with pytest.raises(MetabaseError, match=r"HTTP 400.*user\.password: password is too common\..*"
                                            r"MB_ADMIN_PASSWORD") as info:
        metabase.provision(make_config(fresh, admin_password=password))
    assert "received" not in str(info.value) and ".." not in str(info.value)  # specific-errors: never
    if password == "Sh0rt-x":
        assert password not in str(info.value)  # the password itself is never shown
    assert not fresh.users and fresh.settings["anon-tracking-enabled"] is True


def test_the_fake_is_as_strict_as_metabase_059():
    """The stand-in's own v0.59 behaviour, so that the tests above mean something."""
    with FakeMetabase(reachable={WAREHOUSE}) as fake:
        body = {"token": fake.setup_token, "prefs": {"site_name": "S", "allow_tracking": False},
                "user": {"email": ADMIN[0], "password": "password"}}
        with pytest.raises(BadRequest) as info:
            fake.handle("POST", "/api/setup", {}, body, None)
        assert info.value.errors == {"user": {"password": "password is too common."}}
        assert '"password"' in info.value.specific["user"]["password"][0]
        body["user"]["password"] = ADMIN[1]
        status, answer = fake.handle("POST", "/api/setup", {}, body, None)
        assert status == 200 and fake.settings["anon-tracking-enabled"] is True  # prefs ignored
        session = answer["id"]
        tracking = "/api/setting/anon-tracking-enabled"
        assert fake.handle("PUT", tracking, {}, {"value": False}, None)[0] == 401
        assert fake.handle("PUT", tracking, {}, {"value": False}, session) == (204, None)
        assert fake.settings["anon-tracking-enabled"] is False
        fake.handle("PUT", tracking, {}, {}, session)  # null: the default
        assert fake.settings["anon-tracking-enabled"] is True
        assert fake.handle("PUT", "/api/setting/no-such-setting", {}, {"value": 1}, session)[0] == 404

        details = {"host": WAREHOUSE[0], "port": WAREHOUSE[1], "dbname": WAREHOUSE[2], "user": "u"}
        good = {"name": "W", "engine": "postgres", "details": details}
        for wrong in ({"host": "elsewhere"}, {"port": 5433}, {"dbname": "other"}):
            broken = {**good, "details": {**details, **wrong}}
            status, error = fake.handle("POST", "/api/database", {}, broken, session)
            assert status == 400 and set(error["errors"]) <= {"host", "port", "dbname"}, wrong
        status, db = fake.handle("POST", "/api/database", {}, good, session)
        assert status == 200
        assert fake.handle("POST", f"/api/database/{db['id']}/sync_schema", {}, None, session)[0] == 200
        fake.reachable = set()
        assert fake.handle("POST", f"/api/database/{db['id']}/sync_schema", {}, None, session)[0] == 422

        coll = fake.handle("POST", "/api/collection", {}, {"name": "C"}, session)[1]
        card = fake.handle("POST", "/api/card", {}, {
            "name": "q", "display": "table", "visualization_settings": {}, "collection_id": coll["id"],
            "dataset_query": {"type": "native", "native": {"query": "SELECT 1"}, "database": db["id"]}},
            session)[1]
        fake.cards[card["id"]]["dashboard_id"] = 999
        items = f"/api/collection/{coll['id']}/items"
        assert fake.handle("GET", items, {}, None, session)[1]["data"] == []
        shown = fake.handle("GET", items, {"show_dashboard_questions": ["true"]}, None, session)[1]
        assert [i["id"] for i in shown["data"]] == [card["id"]]
        with pytest.raises(BadRequest, match="show_dashboard_questions"):
            fake.handle("GET", items, {"show_dashboard_questions": ["yes"]}, None, session)


def test_a_version_that_is_no_release_tag_is_reported_and_warned_about(caplog):
    with FakeMetabase(admin=ADMIN, version="vLOCAL_DEV") as fake, caplog.at_level(logging.WARNING):
        assert metabase.provision(make_config(fake))["version"] == "vLOCAL_DEV"
        assert "gave no release version ('vLOCAL_DEV'); expected v0.50 or later" in caplog.text
