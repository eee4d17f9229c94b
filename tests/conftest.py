import os
import sys

import pytest

import recogym

# tests/support holds helpers shared by test modules; put it on the path in
# every import mode (importlib mode, which the wheel check uses, adds nothing).
sys.path.insert(0, os.path.dirname(__file__))
from recogym.params import resolve_env_args


@pytest.fixture
def make_env():
    """``make_env(model, **args)``: an initialised env."""

    def make(model="reco-gym-v1", **args):
        env = recogym.make(model)
        env.init_gym(args)
        return env

    return make


@pytest.fixture
def config_of():
    return lambda model, **args: resolve_env_args(model, args)


def _hypothesis_profiles():
    """The property-based tests (tests/fuzz): a small fixed budget by
    default, so CI stays fast; `pytest --hypothesis-profile long` runs the
    long search. (Without hypothesis those tests skip, saying so.)"""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=3000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci")


_hypothesis_profiles()
