"""Metabase provisioning as code: the warehouse connection, the questions and the "Insiders" dashboard.

``provision`` brings a Metabase instance to the state this module describes, and a second run
changes nothing but updates in place (it never duplicates):

1. read the server's version (``GET /api/session/properties``, no login needed: ``version.tag``
   such as ``v0.59.6``), refuse one older than :data:`MINIMUM_VERSION`; first-run set-up when the
   instance has no user yet (the same answer gives the ``setup-token``; ``POST /api/setup`` creates
   the admin, site name "Insiders"), else log in (``POST /api/session``; the session id goes in the
   ``X-Metabase-Session`` header); then turn anonymous usage tracking off
   (``PUT /api/setting/anon-tracking-enabled`` ``{"value": false}``) on every run, because set-up
   turns it on whatever ``prefs.allow_tracking`` says;
2. the warehouse database (engine ``postgres``) with the READ-ONLY login
   (``INSIDERS_READER_USER`` / ``INSIDERS_READER_PASSWORD``, see ``insiders warehouse
   create-reader``; never the writer), created with ``POST /api/database`` or updated with
   ``PUT /api/database/:id`` when a database of that name exists; then ``sync_schema``;
3. a collection "Insiders" holding everything below (found by name, else ``POST /api/collection``);
4. five native-SQL questions (cards) on schema ``insiders`` (:data:`CARDS`): found by name in the
   collection (listed with ``show_dashboard_questions=true``, else a question someone moved into the
   dashboard is hidden and would be created again) and ``PUT /api/card/:id``, else ``POST /api/card``;
5. the dashboard "Insiders" with the five cards, laid out on Metabase's 24-column grid:
   ``POST /api/dashboard`` if missing, then ``PUT /api/dashboard/:id`` with the full ``dashcards``
   list (existing dashcards keep their ids, new ones get negative ids; dashcards someone added by
   hand are kept as they are).

``resync`` asks Metabase to sync the schema and rescan the field values of the warehouse database
(``POST /api/database/:id/sync_schema`` and ``/rescan_values``): the DAG's last task.

Settings come from the environment (:meth:`MetabaseConfig.from_env`), never from code: ``MB_URL``,
``MB_ADMIN_EMAIL``, ``MB_ADMIN_PASSWORD``, ``INSIDERS_READER_USER`` (default ``metabase``),
``INSIDERS_READER_PASSWORD``, ``INSIDERS_WAREHOUSE_HOST`` / ``_PORT`` / ``_DB`` / ``_SSL``, and
optionally ``MB_DATABASE_NAME``, ``MB_WAIT_SECONDS``.

Versions: the compose file pins **Metabase v0.59.6** (:data:`TARGET_VERSION`); the client refuses
a server older than :data:`MINIMUM_VERSION` (v0.50, the API it was first written against: cards'
``type`` came in v0.49, ``dashcards`` on ``PUT /api/dashboard/:id`` in v0.47) and reports the version
the server gives. Endpoints and payload shapes were checked against Metabase's API reference pages
(https://www.metabase.com/docs/v0.50/api/ ``setup``, ``session``, ``database``, ``collection``,
``card``, ``dashboard``; the same pages under ``/docs/latest/``), its API changelog
(https://www.metabase.com/docs/latest/developers-guide/api-changelog) and the endpoint schemas in its
sources (``setup.clj``, ``card.clj``, ``dashboard.clj``, ``database.clj``, ``collection.clj``,
``setting.clj``; around v0.59 for the set-up, tracking, dashboard-question and sync behaviour):

- ``POST /api/setup`` takes ``token``, ``user`` {``email``, ``password``, ``first_name``,
  ``last_name``} and ``prefs`` {``site_name``, ``site_locale``, ``allow_tracking``}, answers
  ``{"id": session}``, and 403 once a user exists; a password it refuses (too short, no digit, or
  common) answers 400 ``{"errors": {"user": {"password": "password is too common."}}}``;
- ``POST /api/database`` and ``PUT /api/database/:id`` test the connection first and answer 400
  ``{"message": ..., "errors": {field: ...}}`` when it fails; ``POST /api/database/:id/sync_schema``
  answers 422 (the driver's message as text) when the database cannot be reached;
- ``POST /api/session`` takes ``username`` and ``password``; a wrong one answers 401
  ``{"errors": {"password": "did not match stored password"}}``;
- ``GET /api/database`` and ``GET /api/collection/:id/items`` answer ``{"data": [...], "total": n}``;
  the items leave out "dashboard questions" (cards saved into a dashboard, v0.53 and later) unless
  ``show_dashboard_questions=true``;
- ``POST /api/card`` requires ``name``, ``dataset_query``, ``display``, ``visualization_settings``;
- ``PUT /api/dashboard/:id`` takes ``dashcards`` (``id``, negative for a new one, ``card_id``,
  ``size_x``, ``size_y``, ``row``, ``col``; ids left out are deleted) and ``tabs``
  (``PUT /api/dashboard/:id/cards`` is deprecated).

It has been exercised against a stand-in of that API (``tests/metabase/fake_metabase.py``), not
against a running Metabase: run ``insiders metabase provision`` once on a v0.59 instance before
relying on it.

Modules: :mod:`~insiders.metabase.client` (the settings, the errors, the REST client, the
version check and the session), :mod:`~insiders.metabase.cards` (the collection, the questions
and the dashboard as code) and :mod:`~insiders.metabase.provisioning` (:func:`provision` and
:func:`resync`, step by step).
"""

from insiders.metabase.cards import (
    CARDS,
    COLLECTION_NAME,
    DASHBOARD_NAME,
    SCHEMA,
    WAREHOUSE_OBJECTS,
    CardSpec,
)
from insiders.metabase.client import (
    DEFAULT_DATABASE_NAME,
    MINIMUM_VERSION,
    SESSION_HEADER,
    SITE_NAME,
    TARGET_VERSION,
    MetabaseConfig,
    MetabaseError,
)
from insiders.metabase.provisioning import provision, resync

__all__ = [
    "CARDS",
    "COLLECTION_NAME",
    "DASHBOARD_NAME",
    "DEFAULT_DATABASE_NAME",
    "MINIMUM_VERSION",
    "SCHEMA",
    "SESSION_HEADER",
    "SITE_NAME",
    "TARGET_VERSION",
    "WAREHOUSE_OBJECTS",
    "CardSpec",
    "MetabaseConfig",
    "MetabaseError",
    "provision",
    "resync",
]
