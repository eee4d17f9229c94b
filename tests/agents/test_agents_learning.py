"""Every agent learns: trained offline by ``test_agent`` on reco-gym-v1, it
earns more clicks online than the random agent on the same users.

Each agent and the random agent get deep copies of one env, so they train
on the same offline users and are tested on the same online users. An agent
beats random when the lower end of its CTR's 95% credible interval lies
above the random agent's median. Agents built on scikit-learn or PyTorch
are skipped only when that package is missing (``pip install
recogym[sklearn]`` / ``recogym[torch]``).
"""
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
    RandomAgent,
)

# BanditCount estimates P * P cells alone: at P=100 it needs about 2000
# users before its estimates beat chance; 3000 leaves a margin.
OFFLINE_USERS = {10: 2000, 100: 3000}
ONLINE_USERS = 1000

AGENTS = {
    "OrganicCount": (None, lambda P: OrganicCount({"num_products": P})),
    "OrganicUserEventCounterAgent": (None, lambda P: OrganicUserEventCounterAgent({"num_products": P})),
    "BanditCount": (None, lambda P: BanditCount({"num_products": P})),
    "EpsilonGreedy": (None, lambda P: EpsilonGreedy({"epsilon": 0.05}, BanditCount({"num_products": P}))),
    "LogregMulticlassIpsAgent": ("sklearn", lambda P: LogregMulticlassIpsAgent({"num_products": P})),
    "LogregPolyAgent": ("sklearn", lambda P: LogregPolyAgent({"num_products": P})),
    "BanditMFSquare": ("torch", lambda P: BanditMFSquare({"num_products": P})),
    "OrganicMFSquare": ("torch", lambda P: OrganicMFSquare({"num_products": P})),
    "NnIpsAgent": ("torch", lambda P: NnIpsAgent({"num_products": P})),
}


def build(name, num_products):
    extra, factory = AGENTS[name]
    if extra is not None:
        pytest.importorskip(extra, reason=f"{name} needs {extra}: pip install recogym[{extra}]")
    return factory(num_products)


def make_env(num_products, **args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 42, "rng": "default", "num_products": num_products, **args})
    return env


_random_results = {}


def random_result(env, num_offline_users):
    """The random agent's result on this env's users (computed once per env)."""
    key = (tuple(sorted(env.config.items())), num_offline_users)
    if key not in _random_results:
        agent = RandomAgent({"num_products": env.num_products, "random_seed": 1})
        _random_results[key] = recogym.test_agent(copy.deepcopy(env), agent, num_offline_users, ONLINE_USERS)
    return _random_results[key]


@pytest.mark.parametrize("num_products", [10, 100])
@pytest.mark.parametrize("name", list(AGENTS))
def test_agent_beats_random(name, num_products):
    env = make_env(num_products)
    agent = build(name, num_products)
    offline = OFFLINE_USERS[num_products]
    random_median = random_result(env, offline).median
    median, low, high = recogym.test_agent(copy.deepcopy(env), agent, offline, ONLINE_USERS)
    assert low > random_median, (name, num_products, (median, low, high), random_median)


ORGANIC_ONLY = ["OrganicCount", "OrganicUserEventCounterAgent", "OrganicMFSquare"]


@pytest.mark.parametrize("name", ORGANIC_ONLY)
def test_organic_agents_fall_to_random_when_every_product_is_flipped(name):
    """With ``number_of_flips = P / 2`` every product's click behaviour is
    swapped with that of its most similar product, so what a user views
    organically says nothing about what they click: agents that learn only
    from organic views lose their whole gain over random (they earn about
    twice random's CTR without flips), while BanditCount, which learns from
    clicks, still beats them."""
    env = make_env(10, number_of_flips=5)
    agent = build(name, 10)
    offline = OFFLINE_USERS[10]
    random_median = random_result(env, offline).median
    median, low, high = recogym.test_agent(copy.deepcopy(env), agent, offline, ONLINE_USERS)
    bandit = recogym.test_agent(copy.deepcopy(env), BanditCount({"num_products": 10}), offline, ONLINE_USERS)
    assert median < 1.3 * random_median
    assert high < bandit[1]
