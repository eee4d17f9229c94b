"""Agents that rank: with slate_size k > 1 in their config they return the
k best-scored products, act and act_batch alike, and learn from slate logs
one position at a time; test_agent counts the clicks per position."""
import numpy as np
import pytest

import recogym
from recogym.agents import (
    BanditCount,
    OrganicCount,
    OrganicUserEventCounterAgent,
    PopularityAgent,
)
from recogym.evaluation.online import AgentResult, test_agent
from recogym.logs import per_position
from recogym.session import SlateAction, UserBatch

P = 12
ARGS = {"num_products": P, "random_seed": 5, "slate_size": 3, "click_model": "cascade"}


def agents():
    made = [PopularityAgent(ARGS), BanditCount(ARGS), OrganicCount(ARGS),
            OrganicUserEventCounterAgent({**ARGS, "select_randomly": False})]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return made
    from recogym.agents import LogregMulticlassIpsAgent, LogregPolyAgent

    return [*made, LogregMulticlassIpsAgent(ARGS), LogregPolyAgent(ARGS)]


@pytest.fixture(scope="module")
def env():
    env = recogym.make("reco-gym-v1")
    env.init_gym(ARGS)
    return env


@pytest.fixture(scope="module")
def slate_logs(env):
    return env.simulate(300)


@pytest.mark.parametrize("index", range(6))
def test_ranking_agents_act_and_act_batch_alike(env, slate_logs, index):
    all_agents = agents()
    if index >= len(all_agents):
        pytest.skip("the logistic-regression agents need scikit-learn: pip install recogym[sklearn]")
    agent = all_agents[index]
    agent.train_logs(slate_logs)
    batch_env = recogym.BatchEnv(env, num_envs=8)
    batch_env.start(8, first_user=10_000)
    slots = batch_env.active_slots()
    batch = batch_env.observe(slots)
    slates, propensities = agent.act_batch(batch)
    assert slates.shape == (len(slots), 3)
    np.testing.assert_array_equal(propensities, 1.0)
    scores = agent.scores(batch)
    for row, slate in enumerate(slates):
        assert len(set(slate.tolist())) == 3
        # The best three scores, best first (ties to the lower id).
        assert list(slate) == sorted(range(P), key=lambda p: (-scores[row, p], p))[:3]
    # One user through act gives the same ranking.
    env.reset(10_000 + 0)
    observation, reward, done, _ = env.step(None)
    agent.reset()
    action = agent.act(observation, reward, done)
    assert isinstance(action, SlateAction) and action["a"].shape == (3,) and action.ps == 1.0
    one = UserBatch(np.bincount(observation.get_views(), minlength=P)[None, :].astype(float),
                    np.array([observation.get_views()[-1]]), np.array([10_000]), np.array([0]))
    np.testing.assert_array_equal(action["a"], agent.rank(one)[0])


def test_greedy_agents_rank_their_greedy_choice_first(slate_logs):
    ranking, single = BanditCount(ARGS), BanditCount({**ARGS, "slate_size": 1})
    for agent in (ranking, single):
        agent.train_logs(slate_logs)
    batch = UserBatch(np.zeros((P, P)), np.arange(P), np.arange(P), np.zeros(P, dtype=np.int64))
    products, _ = single.act_batch(batch)
    np.testing.assert_array_equal(ranking.act_batch(batch)[0][:, 0], products)


def test_slate_logs_train_one_impression_per_position(slate_logs):
    agent = BanditCount(ARGS)
    agent.train_logs(slate_logs)
    assert agent.impressions.sum() == 3 * slate_logs.impressions.sum()
    assert agent.clicks.sum() == slate_logs.slate.c[slate_logs.impressions].sum()
    expanded = per_position(slate_logs)
    assert expanded.slate is None
    np.testing.assert_array_equal(expanded.a[expanded.impressions], slate_logs.slate.a[slate_logs.impressions].ravel())
    np.testing.assert_array_equal(expanded.ps[expanded.impressions],
                                  slate_logs.slate.pscore_item_position[slate_logs.impressions].ravel())


def test_slate_size_must_fit_the_products():
    with pytest.raises(ValueError, match="slate_size"):
        PopularityAgent({"num_products": 3, "slate_size": 4})


class PerUser:
    """An agent served user by user (no act_batch): test_agent's act path."""

    def __init__(self, agent):
        self.agent = agent

    def train_logs(self, logs):
        self.agent.train_logs(logs)

    def reset(self):
        self.agent.reset()

    def act(self, observation, reward, done):
        return self.agent.act(observation, reward, done)


def fresh_env(**args):
    env = recogym.make("reco-gym-v1")
    env.init_gym({**ARGS, **args})
    return env


def test_test_agent_counts_clicks_per_position():
    result = test_agent(fresh_env(), PopularityAgent(ARGS), num_offline_users=200, num_online_users=300)
    assert isinstance(result, AgentResult)
    assert len(result.clicks_per_position) == 3
    assert result.total_clicks == sum(result.clicks_per_position) >= result.clicks > 0
    assert result.clicks_per_impression == result.total_clicks / result.impressions
    # Cascade: one click at most per impression.
    assert result.total_clicks == result.clicks
    again = test_agent(fresh_env(), PerUser(PopularityAgent(ARGS)), num_offline_users=200, num_online_users=300)
    assert (again.clicks_per_position, again.impressions) == (result.clicks_per_position, result.impressions)
    import pickle

    copy = pickle.loads(pickle.dumps(result))
    assert copy.clicks_per_position == result.clicks_per_position and tuple(copy) == tuple(result)


def test_test_agent_pbm_counts_every_click():
    env = fresh_env(click_model="pbm", examination=[1.0, 1.0, 1.0])
    result = test_agent(env, PopularityAgent({**ARGS, "click_model": "pbm"}), num_offline_users=100,
                        num_online_users=400)
    assert result.total_clicks >= result.clicks
    assert result.clicks_per_impression >= result.median - 0.05


def test_one_product_results_are_unchanged(make_env):
    env = make_env(num_products=P, random_seed=5)
    result = test_agent(env, PopularityAgent({"num_products": P, "random_seed": 5}), 100, 100)
    assert result.clicks_per_position is None and result.total_clicks == result.clicks
