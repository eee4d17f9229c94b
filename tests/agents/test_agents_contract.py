"""What every agent promises: policies that are distributions, propensities
that are the frequencies of its choices, the same choices in the batch and
per-user paths, training from logs equal to training step by step, and
pickling that restores an agent which carries on identically.

Agents built on scikit-learn or PyTorch are skipped only when that package
is missing (``pip install recogym[sklearn]`` / ``recogym[torch]``).
"""
import copy
import pickle

import numpy as np
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
    UserBatch,
)
from recogym.batch import evaluate_batch
from recogym.evaluation import evaluate_online, train_offline

P = 10

# name: (extra it needs, factory, deterministic?)
AGENTS = {
    "OrganicCount": (None, lambda: OrganicCount({"num_products": P}), True),
    "OrganicUserEventCounter": (None, lambda: OrganicUserEventCounterAgent({"num_products": P}), False),
    "OrganicUserEventCounter-explore": (None, lambda: OrganicUserEventCounterAgent(
        {"num_products": P, "epsilon": 0.3, "random_seed": 5}), False),
    "OrganicUserEventCounter-reverse": (None, lambda: OrganicUserEventCounterAgent(
        {"num_products": P, "epsilon": 0.5, "exploit_explore": False, "reverse_pop": True}), False),
    "OrganicUserEventCounter-greedy": (None, lambda: OrganicUserEventCounterAgent(
        {"num_products": P, "select_randomly": False}), True),
    "BanditCount": (None, lambda: BanditCount({"num_products": P}), True),
    "EpsilonGreedy": (None, lambda: EpsilonGreedy({"epsilon": 0.2}, BanditCount({"num_products": P})), False),
    "EpsilonGreedy-worse": (None, lambda: EpsilonGreedy(
        {"epsilon": 0.3, "epsilon_select_worse": True},
        OrganicUserEventCounterAgent({"num_products": P})), False),
    "LogregMulticlassIps": ("sklearn", lambda: LogregMulticlassIpsAgent({"num_products": P}), True),
    "LogregMulticlassIps-random": ("sklearn", lambda: LogregMulticlassIpsAgent(
        {"num_products": P, "select_randomly": True}), False),
    "LogregPoly": ("sklearn", lambda: LogregPolyAgent({"num_products": P, "with_ips": True}), True),
    "BanditMFSquare": ("torch", lambda: BanditMFSquare({"num_products": P, "num_steps": 50}), True),
    "OrganicMFSquare": ("torch", lambda: OrganicMFSquare({"num_products": P, "num_steps": 50}), True),
    "NnIps": ("torch", lambda: NnIpsAgent({"num_products": P, "num_epochs": 20}), True),
    "NnIps-random": ("torch", lambda: NnIpsAgent({"num_products": P, "num_epochs": 20, "select_randomly": True}),
                     False),
}


def build(name):
    extra, factory, _ = AGENTS[name]
    if extra is not None:
        pytest.importorskip(extra, reason=f"{name} needs {extra}: pip install recogym[{extra}]")
    return factory()


def make_env(seed=5, **args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": seed, "num_products": P, **args})
    return env


@pytest.fixture(scope="module")
def trained():
    """Each agent trained once on the same 200 users, built on first use."""
    cache = {}

    def get(name):
        if name not in cache:
            agent = build(name)
            train_offline(make_env(), agent, 200)
            cache[name] = agent
        return copy.deepcopy(cache[name])

    return get


class WithoutBatch:
    """Hides an agent's batch methods, forcing the per-user paths."""

    def __init__(self, agent):
        self.agent = agent

    def train(self, *step):
        self.agent.train(*step)

    def act(self, *step):
        return self.agent.act(*step)

    def reset(self):
        self.agent.reset()


def fixed_histories(repeat):
    """Six users' histories, each shown ``repeat`` times under distinct ids."""
    rng = np.random.Generator(np.random.PCG64(3))
    counts = rng.poisson(1.0, size=(6, P)).astype(float)
    counts[0] = 0.0
    counts[1] = 2.0
    counts[0, 4] = 1.0
    last_view = np.array([4, 0, 1, 3, 7, 9])
    return UserBatch(np.repeat(counts, repeat, axis=0), np.repeat(last_view, repeat),
                     np.arange(6 * repeat, dtype=np.int64), np.zeros(6 * repeat, dtype=np.int64))


@pytest.mark.parametrize("name", list(AGENTS))
def test_propensities_are_the_policy_and_match_frequencies(trained, name):
    agent = trained(name)
    repeat = 4000
    batch = fixed_histories(repeat)
    policy = agent.policy(batch)
    assert policy.shape == (6 * repeat, P)
    assert np.all(policy >= 0)
    np.testing.assert_allclose(policy.sum(axis=1), 1.0, rtol=1e-12)
    actions, ps = agent.act_batch(batch)
    np.testing.assert_array_equal(ps, policy[np.arange(len(actions)), actions])
    for user in range(6):
        rows = slice(user * repeat, (user + 1) * repeat)
        expected = policy[rows][0]
        frequencies = np.bincount(actions[rows], minlength=P) / repeat
        tolerance = 6 * np.sqrt(expected * (1 - expected) / repeat) + 1e-12
        assert np.all(np.abs(frequencies - expected) <= tolerance), (user, frequencies, expected)
    if AGENTS[name][2]:
        np.testing.assert_array_equal(ps, 1.0)
    else:
        assert np.any(ps < 1.0)


@pytest.mark.parametrize("name", list(AGENTS))
def test_act_reports_the_propensity_and_the_whole_vector(trained, name):
    agent = trained(name)
    agent.with_ps_all = True
    env = make_env(seed=8)
    env.reset()
    agent.reset()
    observation, reward, done, _ = env.step(None)
    for _ in range(5):
        action = agent.act(observation, reward, done)
        assert np.isclose(sum(action.ps_all), 1.0) and action.ps == action.ps_all[int(action)]
        assert action.ps == 1.0 or not AGENTS[name][2]
        observation, reward, done, _ = env.step(int(action))


@pytest.mark.parametrize("name", list(AGENTS))
def test_batch_path_gives_the_per_user_clicks(trained, name):
    agent = trained(name)
    env = make_env(seed=6)
    per_user = evaluate_online(copy.deepcopy(env), WithoutBatch(copy.deepcopy(agent)), 60)
    batch = evaluate_batch(copy.deepcopy(env), copy.deepcopy(agent), 60, num_envs=16)
    assert batch == per_user and per_user[1] > 1000


@pytest.mark.parametrize("name", list(AGENTS))
def test_training_from_logs_equals_training_step_by_step(name):
    from_logs, by_step = build(name), build(name)
    env = make_env(seed=9)
    train_offline(copy.deepcopy(env), from_logs, 80, num_organic_offline_users=5)
    train_offline(copy.deepcopy(env), WithoutBatch(by_step), 80, num_organic_offline_users=5)
    batch = fixed_histories(3)
    np.testing.assert_array_equal(from_logs.policy(batch), by_step.policy(batch))


@pytest.mark.parametrize("name", list(AGENTS))
def test_pickled_agents_carry_on_identically(trained, name):
    agent = trained(name)
    restored = pickle.loads(pickle.dumps(agent))
    batch = fixed_histories(50)
    for a, b in ((agent, restored), (agent, restored)):
        actions, ps = a.act_batch(batch)
        restored_actions, restored_ps = b.act_batch(batch)
        np.testing.assert_array_equal(actions, restored_actions)
        np.testing.assert_array_equal(ps, restored_ps)
        # Both go on learning from the same further logs.
        more = make_env(seed=12).simulate(30)
        agent.train_logs(more)
        restored.train_logs(more)
