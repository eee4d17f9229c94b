"""The batch env and the batch paths of test_agent against the per-user paths."""
import copy

import numpy as np
import pytest

import recogym
from recogym.agents import BatchAgent, PopularityAgent, RandomAgent, UserBatch, keyed_uniform, popularity_args
from recogym.batch import BatchEnv, evaluate_batch
from recogym.evaluation import evaluate_online, train_offline


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


class LastViewAgent(BatchAgent):
    """Deterministic and history-dependent: recommends the last viewed product."""

    def policy(self, batch):
        probabilities = np.zeros((len(batch.user_ids), self.num_products))
        probabilities[np.arange(len(batch.user_ids)), batch.last_view] = 1.0
        return probabilities


class MostViewedAgent(BatchAgent):
    """Stochastic and history-dependent: in proportion to the user's views."""

    def policy(self, batch):
        return batch.view_counts / batch.view_counts.sum(axis=1, keepdims=True)


AGENTS = {
    "random": lambda P: RandomAgent({"num_products": P, "random_seed": 3}),
    "popularity": lambda P: PopularityAgent({**popularity_args, "num_products": P}),
    "last-view": lambda P: LastViewAgent({"num_products": P}),
    "most-viewed": lambda P: MostViewedAgent({"num_products": P, "random_seed": 9}),
}


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("name", list(AGENTS))
@pytest.mark.parametrize("num_envs", [1, 7, 256])
def test_batch_path_gives_the_per_user_clicks(make_env, model, name, num_envs):
    env = make_env(model, random_seed=5)
    agent = AGENTS[name](env.num_products)
    train_offline(copy.deepcopy(env), agent, 50)
    per_user = evaluate_online(copy.deepcopy(env), WithoutBatch(copy.deepcopy(agent)), 150)
    batch = evaluate_batch(copy.deepcopy(env), copy.deepcopy(agent), 150, num_envs=num_envs)
    assert batch == per_user
    assert per_user[1] > 1000


@pytest.mark.parametrize("name", ["popularity", "most-viewed"])
def test_training_from_logs_equals_training_step_by_step(make_env, name):
    env = make_env(random_seed=8, with_ps_all=True)
    from_logs, by_step = AGENTS[name](10), AGENTS[name](10)
    train_offline(copy.deepcopy(env), from_logs, 40, num_organic_offline_users=5)
    train_offline(copy.deepcopy(env), WithoutBatch(by_step), 40, num_organic_offline_users=5)
    batch = UserBatch(np.eye(10) + 1, np.arange(10), np.arange(10), np.zeros(10, dtype=np.int64))
    np.testing.assert_array_equal(from_logs.act_batch(batch)[1], by_step.act_batch(batch)[1])
    if name == "popularity":
        np.testing.assert_array_equal(from_logs.organic_views, by_step.organic_views)
        assert from_logs.organic_views.sum() > 500


def test_test_agent_uses_the_batch_path_with_the_same_result(make_env):
    env = make_env(random_seed=11)
    agent = PopularityAgent(popularity_args)
    fast = recogym.test_agent(copy.deepcopy(env), agent, 300, 300)
    slow = recogym.test_agent(copy.deepcopy(env), WithoutBatch(agent), 300, 300)
    assert tuple(fast) == tuple(slow)
    assert (fast.clicks, fast.impressions) == (slow.clicks, slow.impressions)


def test_batch_env_replaces_users_until_done(make_env):
    env = make_env(random_seed=2)
    batch_env = BatchEnv(env, num_envs=16)
    batch_env.start(100, first_user=1000)
    seen = set()
    slots = batch_env.active_slots()
    while slots.size:
        seen.update(batch_env.observe(slots).user_ids.tolist())
        batch_env.recommend(slots, np.zeros(len(slots), dtype=np.int64))
        slots = batch_env.active_slots()
    # Users who leave before their first impression never wait in a slot.
    assert seen <= set(range(1000, 1100)) and len(seen) > 90


def test_batch_env_checks_actions(make_env):
    batch_env = BatchEnv(make_env(), num_envs=4)
    batch_env.start(10)
    slots = batch_env.active_slots()
    with pytest.raises(ValueError, match="num_products"):
        batch_env.recommend(slots, np.full(len(slots), 10))
    with pytest.raises(ValueError, match="actions"):
        batch_env.recommend(slots, np.zeros(len(slots) + 1, dtype=np.int64))
    with pytest.raises(ValueError, match="num_envs"):
        BatchEnv(make_env(), num_envs=0)


def test_propensities_match_frequencies():
    agent = MostViewedAgent({"num_products": 4, "random_seed": 1})
    counts = np.array([[1.0, 3.0, 0.0, 4.0]])
    n = 40_000
    batch = UserBatch(np.repeat(counts, n, axis=0), np.zeros(n, dtype=np.int64), np.arange(n), np.zeros(n, dtype=np.int64))
    actions, ps = agent.act_batch(batch)
    expected = counts[0] / counts.sum()
    np.testing.assert_array_equal(ps, expected[actions])
    frequencies = np.bincount(actions, minlength=4) / n
    assert np.all(np.abs(frequencies - expected) < 6 * np.sqrt(expected * (1 - expected) / n) + 1e-12)


def test_keyed_uniform_is_a_function_of_its_key():
    u = keyed_uniform(7, np.arange(1000), np.zeros(1000, dtype=np.int64))
    assert np.all((0 <= u) & (u < 1)) and len(np.unique(u)) == 1000
    assert keyed_uniform(7, [5], [3])[0] == keyed_uniform(7, np.arange(10), np.full(10, 3))[5]
    assert keyed_uniform(8, [5], [3])[0] != keyed_uniform(7, [5], [3])[0]


def test_keyed_uniform_scalar_form_matches():
    from recogym.agents.base import keyed_uniform_one

    users = np.array([0, 1, 2**40, 2**63 - 1])
    steps = np.array([0, 5, 17, 2**20])
    for seed in (0, 42, 2**64 - 1):
        expected = keyed_uniform(seed, users, steps)
        assert [keyed_uniform_one(seed, int(u), int(s)) for u, s in zip(users, steps)] == expected.tolist()
