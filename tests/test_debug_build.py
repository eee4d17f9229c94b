"""The bounds-checked build (RECOGYM_CYTHON_DEBUG=1) refuses bad indices.

Release builds trust the Python layer, so these checks only run against a
debug build; CI runs the whole suite on both.
"""
import pytest

from recogym import _core

pytestmark = pytest.mark.skipif(not _core.DEBUG_BUILD, reason="needs a RECOGYM_CYTHON_DEBUG=1 build")


def test_kernel_checks_slot_bounds(make_env):
    env = make_env()
    with pytest.raises(IndexError):
        env._engine.start(1, 0)
    with pytest.raises(IndexError):
        env._engine.slot_state(-1)
