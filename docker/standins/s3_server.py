"""The S3 stand-in for MinIO: moto's S3 API server whose buckets outlive a restart.

    python s3_server.py DATA_DIR [--port 9000]

moto keeps its objects in memory. This serves moto's WSGI application (what `moto_server`
serves) and, a moment after any request that may change something (not GET/HEAD), writes every
bucket's objects to DATA_DIR (one file per object, named by a hash of its key, and an index per
bucket with each key's ETag and metadata (content type included)); on SIGTERM/SIGINT it writes them once
more and exits. At start it loads DATA_DIR back into moto. MinIO writes through on every
request; this stand-in may lose the last second of writes if it is killed with SIGKILL.
Versioning, ACLs, tags and multipart uploads in progress are not kept across a restart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import s3_backends
from werkzeug.serving import make_server

REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
_dirty = threading.Event()
_save_lock = threading.Lock()


def _backend():
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _all_buckets():
    for name, (partition, account) in list(s3_backends.bucket_accounts.items()):
        bucket = s3_backends[account][partition].buckets.get(name)
        if bucket is not None:
            yield bucket


def _object_file(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def save(data: Path) -> None:
    """Write every bucket's current objects to DATA (only those whose ETag changed)."""
    with _save_lock:
        seen = set()
        for bucket in _all_buckets():
            seen.add(bucket.name)
            folder = data / "buckets" / bucket.name
            (folder / "objects").mkdir(parents=True, exist_ok=True)
            index_path = folder / "index.json"
            old = json.loads(index_path.read_text()) if index_path.exists() else {}
            new = {}
            for name, key in list(bucket.keys.items()):
                if key is None or getattr(key, "is_delete_marker", False):
                    continue
                entry = {"file": _object_file(name), "etag": key.etag, "metadata": dict(key.metadata)}
                path = folder / "objects" / entry["file"]
                if old.get(name, {}).get("etag") != key.etag or not path.exists():
                    tmp = path.with_suffix(".tmp")
                    tmp.write_bytes(key.value)
                    tmp.replace(path)
                new[name] = entry
            tmp = index_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(new, indent=1, sort_keys=True))
            tmp.replace(index_path)
            for name, entry in old.items():
                if name not in new:
                    (folder / "objects" / entry["file"]).unlink(missing_ok=True)
        root = data / "buckets"
        if root.exists():
            for folder in root.iterdir():
                if folder.is_dir() and folder.name not in seen:
                    for f in sorted(folder.rglob("*"), reverse=True):
                        f.unlink() if f.is_file() else f.rmdir()
                    folder.rmdir()


def load(data: Path) -> None:
    """Put back into moto the buckets and objects saved in DATA."""
    root = data / "buckets"
    if not root.exists():
        return
    backend = _backend()
    buckets = objects = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        backend.create_bucket(folder.name, REGION)
        buckets += 1
        index_path = folder / "index.json"
        index = json.loads(index_path.read_text()) if index_path.exists() else {}
        for name, entry in index.items():
            key = backend.put_object(folder.name, name, (folder / "objects" / entry["file"]).read_bytes(),
                                     etag=entry["etag"].strip('"'), disable_notification=True)
            key.set_metadata(dict(entry.get("metadata") or {}))
            objects += 1
    print(f"s3-standin: loaded {buckets} bucket(s), {objects} object(s) from {data}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    load(args.data)

    app = DomainDispatcherApplication(create_backend_app)

    def persisted(environ, start_response):
        try:
            return app(environ, start_response)
        finally:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS"):
                _dirty.set()

    def saver() -> None:
        while True:
            _dirty.wait()
            time.sleep(0.5)
            _dirty.clear()
            try:
                save(args.data)
            except Exception as exc:  # keep serving; say so
                print(f"s3-standin: saving failed: {exc!r}", file=sys.stderr, flush=True)
                _dirty.set()
                time.sleep(2)

    threading.Thread(target=saver, daemon=True).start()
    server = make_server(args.host, args.port, persisted, threaded=True, request_handler=MotoRequestHandler)

    def stop(signum, _frame):
        print(f"s3-standin: signal {signum}: saving and stopping", flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"s3-standin: moto S3 API on {args.host}:{args.port}, data in {args.data}", flush=True)
    server.serve_forever()
    save(args.data)
    print("s3-standin: saved; bye", flush=True)


if __name__ == "__main__":
    main()
