"""numba compiles for one fixed target whatever the CPU (insiders.numba_target)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # fresh interpreters importing umap

PROBE = """
import insiders
from insiders import numba_target
from insiders.spaces import import_umap
import_umap()
print(*numba_target.compiled_target(), sep="|")
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "INSIDERS_NUMBA_TARGET")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("claimed", [None, "haswell", "sandybridge"])
def test_importing_insiders_pins_numba_to_the_generic_target(claimed):
    env = {"NUMBA_CPU_NAME": claimed} if claimed else {}
    done = _python(PROBE, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "generic|"  # no host feature: no FMA, no wider vectors


def test_lifting_the_pin_compiles_for_the_host():
    done = _python(PROBE, INSIDERS_NUMBA_TARGET="host")
    assert done.returncode == 0, done.stderr
    name, features = done.stdout.strip().split("|")
    assert name != "generic" and features  # the host CPU and its features


def test_numba_compiling_before_insiders_is_refused_with_what_to_do():
    done = _python("import umap\n" + PROBE)
    assert done.returncode != 0
    assert "NumbaTargetError" in done.stderr
    assert "Import insiders before umap" in done.stderr
