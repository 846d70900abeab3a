"""The Metabase stand-in of the compose stack: the test suite's FakeMetabase
(tests/metabase/fake_metabase.py, mounted at /opt/fake-metabase), served on 0.0.0.0:3000.
IT IS NOT METABASE: it speaks the REST endpoints `insiders metabase provision` and the DAG's
resync_metabase call, keeps its state in memory (a restart forgets it; metabase-provision, run
again by `up`, sets it up again), runs no query and syncs nothing.

Its connection test accepts the warehouse (host warehouse, port 5432, database insiders) with the
read-only login only (INSIDERS_READER_USER / INSIDERS_READER_PASSWORD), as the real one would
fail on any other.
"""

import os
import sys
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.environ.get("FAKE_METABASE_DIR", "/opt/fake-metabase"))
from fake_metabase import FakeMetabase


def main() -> None:
    port = int(os.environ.get("MB_JETTY_PORT", "3000"))
    fake = FakeMetabase(
        warehouse_logins={os.environ["INSIDERS_READER_USER"]: os.environ["INSIDERS_READER_PASSWORD"]},
        reachable={("warehouse", 5432, "insiders")},
    )
    fake.server.server_close()
    fake.server = ThreadingHTTPServer(("0.0.0.0", port), fake._handler())
    print(f"metabase-standin: FakeMetabase {fake.version} on 0.0.0.0:{port} (NOT Metabase)", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
