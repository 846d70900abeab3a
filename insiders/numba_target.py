"""One code generation target for numba, whatever the machine's CPU.

numba compiles UMAP's layout optimisation (and anything else it compiles) for the CPU it runs
on: with fused multiply-add and wider vectors the same seeded optimisation rounds differently,
and UMAP amplifies the last bits into other clusters. Two machines then publish different
segments from the same data (measured: docs/running.md, bench/RESULTS.md). The product
therefore pins numba's target to one fixed baseline, the
``generic`` CPU of the machine's architecture with no optional features (on x86-64: SSE2, no
FMA, no AVX), before numba compiles anything: the generated code, and so the segments, are the
same on every x86-64 CPU. The code is compiled once per target into numba's cache, so the
pin costs no compile time after the first run.

:func:`pin` runs when :mod:`insiders` is imported, so every entry point (the CLI, each Airflow
task, worker processes, a notebook) gets it. Child processes inherit it through the
environment. ``INSIDERS_NUMBA_TARGET`` names another target (``host`` for numba's own choice):
for benchmarks that measure what the pin changes, never for production runs.
"""

from __future__ import annotations

import os
import sys

#: The target every run compiles for, unless ``INSIDERS_NUMBA_TARGET`` says otherwise.
BASELINE = "generic"
#: The environment variable that overrides the target (``host``: numba picks the machine's).
OVERRIDE = "INSIDERS_NUMBA_TARGET"


class NumbaTargetError(RuntimeError):
    """numba compiled for another target before the pin could take effect."""


#: numba's (CPU name, features) when its code generator existed before :func:`pin` ran.
_set_before_pin: tuple[str, str] | None = None


def wanted_target() -> str | None:
    """The CPU name numba should compile for (``None``: the machine's own)."""
    target = os.environ.get(OVERRIDE, BASELINE).strip() or BASELINE
    return None if target == "host" else target


def pin() -> str | None:
    """Point numba at the wanted target before it compiles; returns the target's name.

    Sets ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` (empty: the baseline's own features
    only) for this process and its children. When numba is already imported, its
    configuration is read again; code it has already compiled keeps its target, which
    :func:`check` reports.
    """
    target = wanted_target()
    if target is None:
        return None
    global _set_before_pin
    os.environ["NUMBA_CPU_NAME"] = target
    os.environ["NUMBA_CPU_FEATURES"] = ""
    if "numba" in sys.modules:
        from numba.core import config
        from numba.core.registry import cpu_target

        if target != config.CPU_NAME or config.CPU_FEATURES != "":
            if _set_before_pin is None and "_toplevel_target_context" in vars(cpu_target):
                _set_before_pin = (config.CPU_NAME or "host", config.CPU_FEATURES or "host's")
            config.reload_config()
    return target


def compiled_target() -> tuple[str, str]:
    """The CPU name and features numba's CPU code generator compiles for in this process."""
    from numba.core.registry import cpu_target

    if _set_before_pin is not None:
        return _set_before_pin
    codegen = cpu_target.target_context.codegen()
    return codegen._get_host_cpu_name(), codegen._tm_features


def check() -> None:
    """Raise :class:`NumbaTargetError` when numba compiles for another target than wanted.

    This happens when numba compiled code (for example ``import umap``, whose nearest-neighbour
    package compiles at import) before :mod:`insiders` was imported: numba fixes its target
    when it first compiles.
    """
    target = wanted_target()
    if target is None:
        return
    pin()
    name, features = compiled_target()
    if name != target or features != "":
        raise NumbaTargetError(
            f"numba compiles for CPU {name!r} (features {features[:30]!r}), not the fixed "
            f"target {target!r}: it compiled code before insiders was imported, so the segments "
            "would depend on this machine's CPU. Import insiders before umap or numba (or start "
            f"Python with NUMBA_CPU_NAME={target} NUMBA_CPU_FEATURES='')."
        )
