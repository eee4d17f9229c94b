"""Every agent through the notebook's scenario: ``test_agent`` at P=100 with
1000 offline and 1000 online users (0.1.3.0's BanditMFSquare took 805 s
here), beside the random agent timed in the same run."""
import copy

import pytest

import recogym
from recogym.agents import (
    BanditCount,
    BanditMFSquare,
    EpsilonGreedy,
    LogregMulticlassIpsAgent,
    LogregPolyAgent,
    NnIpsAgent,
    OrganicCount,
    OrganicMFSquare,
    OrganicUserEventCounterAgent,
    PopularityAgent,
    RandomAgent,
)

P = 100
GROUP = "test_agent P=100 1000/1000"

# name: (extra needed, factory)
AGENTS = {
    "PopularityAgent": (None, lambda: PopularityAgent({"num_products": P})),
    "OrganicCount": (None, lambda: OrganicCount({"num_products": P})),
    "OrganicUserEventCounterAgent": (None, lambda: OrganicUserEventCounterAgent({"num_products": P})),
    "BanditCount": (None, lambda: BanditCount({"num_products": P})),
    "EpsilonGreedy(BanditCount)": (None, lambda: EpsilonGreedy({}, BanditCount({"num_products": P}))),
    "LogregMulticlassIpsAgent": ("sklearn", lambda: LogregMulticlassIpsAgent({"num_products": P})),
    "LogregPolyAgent": ("sklearn", lambda: LogregPolyAgent({"num_products": P})),
    "BanditMFSquare": ("torch", lambda: BanditMFSquare({"num_products": P})),
    "OrganicMFSquare": ("torch", lambda: OrganicMFSquare({"num_products": P})),
    "NnIpsAgent": ("torch", lambda: NnIpsAgent({"num_products": P})),
}


@pytest.fixture(scope="module")
def env():
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 42, "num_products": P})
    return env


def run(throughput, env, name, agent, reference=False):
    result = throughput(GROUP, name, lambda: recogym.test_agent(copy.deepcopy(env), agent, 1000, 1000),
                        lambda result: result.impressions, rounds=2, reference=reference)
    median, low, high = result
    assert result.impressions > 50_000
    return result


def test_random_agent(throughput, env):
    median, low, high = run(throughput, env, "RandomAgent", RandomAgent({"num_products": P}), reference=True)
    assert 0.008 < low < median < high < 0.015


@pytest.mark.parametrize("name", list(AGENTS))
def test_agent(throughput, env, name):
    extra, factory = AGENTS[name]
    if extra is not None:
        pytest.importorskip(extra, reason=f"{name} needs {extra}: pip install recogym[{extra}]")
    median, low, high = run(throughput, env, name, factory())
    # Between random's CTR (about 1.1%) and three times it.
    assert 0.009 < low < median < high < 0.035
