"""Insiders: the monthly selection of a shop's best customers, as a plain Python package.

Importing it pins numba's code generation target (:mod:`insiders.numba_target`) before
anything compiles, so the segments do not depend on the machine's CPU.
"""

from insiders import numba_target as _numba_target

_numba_target.pin()
