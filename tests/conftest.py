import pytest

import recogym
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
