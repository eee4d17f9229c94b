"""The bounds-checked build (RECOGYM_CYTHON_DEBUG=1) refuses bad indices.

Release builds trust the Python layer, so these checks only run against a
debug build; CI runs the whole suite on both.
"""
import numpy as np
import pytest

from recogym import _core

pytestmark = pytest.mark.skipif(not _core.DEBUG_BUILD, reason="needs a RECOGYM_CYTHON_DEBUG=1 build")


def test_kernel_checks_slot_bounds(make_env):
    engine = make_env().simulation.engine(1)
    with pytest.raises(IndexError):
        engine.step_one(1, _core.NEW_USER_COMMAND, 0, 0, False, False)   # slot 1 of one
    with pytest.raises(IndexError):
        engine.step(np.array([0, 0]), np.array([_core.BROWSE_COMMAND]), 0, 0, False, False)
