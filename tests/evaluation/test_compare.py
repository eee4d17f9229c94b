"""Paired A/B comparisons: the agents meet the same users, and pairing them
narrows the interval of their difference in CTR."""
import numpy as np
import pandas as pd
import pytest

import recogym
from recogym.agents import EpsilonGreedy, PopularityAgent, RandomAgent, random_args
from recogym.compare import compare, verify_agents
from recogym.evaluation import ctr_interval

SMALL = {"num_offline_users": 200, "num_bootstrap": 1000}


class ActOnly:
    """A notebook-style agent (``act`` only) that recommends what a
    RandomAgent would: compare must run it user by user."""

    def __init__(self) -> None:
        self.inner = RandomAgent(random_args)

    def reset(self) -> None:
        self.inner.reset()

    def act(self, observation, reward, done):
        return self.inner.act(observation, reward, done)


def width(frame, kind):
    return (frame[f"{kind}_high"] - frame[f"{kind}_low"]).to_numpy()


@pytest.mark.parametrize("seed", range(3))
def test_pairing_narrows_the_interval_of_the_difference(seed):
    """The paired interval is narrower than the unpaired one, on the same users.

    Seed contract: for any seed. Over seeds 0-39 (2,000 online users, 1,000
    bootstrap replicates) the ratio of widths was 0.54 +- 0.065 (at most
    0.65) for popularity against random and 0.20 +- 0.034 (at most 0.27) for
    popularity against itself with 10% exploration; the bounds 0.9 and 0.5
    are more than five and eight standard deviations away.
    """
    agents = {"random": RandomAgent(), "popularity": PopularityAgent(),
              "nearly popularity": EpsilonGreedy({"epsilon": 0.1}, PopularityAgent())}
    differences = compare({}, agents, 2000, seed, **SMALL).differences.set_index(["agent_a", "agent_b"])
    ratio = width(differences, "paired") / width(differences, "unpaired")
    ratio = pd.Series(ratio, index=differences.index)
    assert ratio["popularity", "random"] < 0.9
    assert ratio["nearly popularity", "popularity"] < 0.5
    assert (differences["paired_low"] <= differences["difference"]).all()
    assert (differences["difference"] <= differences["paired_high"]).all()


def test_an_agent_against_itself_differs_by_exactly_zero():
    agent = PopularityAgent()
    result = compare({}, {"a": agent, "b": agent}, 500, 3, **SMALL)
    row = result.differences.iloc[0]
    assert (row["difference"], row["paired_low"], row["paired_high"]) == (0.0, 0.0, 0.0)
    assert row["unpaired_high"] > row["unpaired_low"]     # separate users would not see it
    np.testing.assert_array_equal(result.clicks[:, 0], result.clicks[:, 1])


def test_results_are_deterministic_for_a_seed():
    agents = {"random": RandomAgent(), "popularity": PopularityAgent()}
    first, second = (compare({}, agents, 500, 11, **SMALL) for _ in range(2))
    pd.testing.assert_frame_equal(first.table, second.table)
    pd.testing.assert_frame_equal(first.differences, second.differences)
    np.testing.assert_array_equal(first.clicks, second.clicks)
    other = compare({}, agents, 500, 12, **SMALL)
    assert not np.array_equal(first.clicks, other.clicks)


def test_agents_meet_the_users_test_agent_shows_them(make_env):
    """Training and online users are test_agent's, so each row of the table
    is test_agent's result; an act-only agent, run user by user, gets the
    clicks of the batch agent it copies on every user."""
    agents = {"popularity": PopularityAgent(), "random": RandomAgent(), "act only": ActOnly()}
    result = compare({"num_products": 10}, agents, 300, 5, **SMALL)
    for name in ("popularity", "random"):
        expected = recogym.test_agent(make_env(random_seed=5), agents[name], 200, 300, 0)
        row = result.table.set_index("agent").loc[name]
        assert (row["clicks"], row["impressions"]) == (expected.clicks, expected.impressions)
        assert (row["median"], row["q0.025"], row["q0.975"]) == tuple(expected)
    np.testing.assert_array_equal(result.clicks[:, 1], result.clicks[:, 2])
    np.testing.assert_array_equal(result.impressions[:, 1], result.impressions[:, 2])
    np.testing.assert_array_equal(result.user_ids, np.arange(200, 500))


def test_train_false_uses_the_agents_as_given(make_env):
    """A popularity agent trained beforehand on the first 200 users acts as
    one compare trains on them (training again doubles its counts, which
    leaves its probabilities as they were); an untrained one acts uniformly."""
    popularity = PopularityAgent()
    popularity.train_logs(make_env(random_seed=1).simulate(200))
    views = popularity.organic_views.copy()
    trained = compare({}, {"p": popularity}, 300, 1, train=False, **SMALL).table
    retrained = compare({}, {"p": popularity}, 300, 1, **SMALL).table
    pd.testing.assert_frame_equal(trained, retrained)
    np.testing.assert_array_equal(popularity.organic_views, views)     # compare trained a copy
    untrained = compare({}, {"p": PopularityAgent()}, 300, 1, train=False, **SMALL).table
    assert untrained["clicks"].iloc[0] != trained["clicks"].iloc[0]


def test_verify_agents_is_compare_on_the_first_users(make_env):
    env = make_env(random_seed=4)
    agents = {"random": RandomAgent(), "popularity": PopularityAgent()}
    table = verify_agents(env, 400, agents)
    assert list(table.columns) == ["Agent", "0.025", "0.500", "0.975"]
    expected = compare({}, agents, 400, 4, num_offline_users=0, train=False, num_bootstrap=10).table
    np.testing.assert_array_equal(table[["0.025", "0.500", "0.975"]].to_numpy(),
                                  expected[["q0.025", "median", "q0.975"]].to_numpy())
    assert list(table["Agent"]) == ["random", "popularity"]
    median, low, high = ctr_interval(int(expected["clicks"].iloc[0]), int(expected["impressions"].iloc[0]))
    assert tuple(table.iloc[0, 1:]) == (low, median, high)


def test_legacy_rng_is_refused(make_env):
    with pytest.raises(ValueError, match="rng must be 'default'"):
        compare({"rng": "legacy"}, {"random": RandomAgent()}, 10, 0)
    with pytest.raises(ValueError, match="env: .*rng"):
        verify_agents(make_env(rng="legacy"), 10, {"random": RandomAgent()})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**64}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"num_online_users": 0}, ValueError, "num_online_users"),
    ({"num_offline_users": -1}, ValueError, "num_offline_users"),
    ({"num_organic_offline_users": "3"}, TypeError, "num_organic_offline_users"),
    ({"num_bootstrap": 0}, ValueError, "num_bootstrap"),
    ({"num_envs": 0}, ValueError, "num_envs"),
    ({"model": "reco-gym-v2"}, ValueError, "model"),
    ({"train": 1}, TypeError, "train"),
    ({"agents": {}}, TypeError, "agents"),
    ({"agents": [RandomAgent()]}, TypeError, "agents"),
    ({"agents": {"lazy": object()}}, TypeError, r"agents\['lazy'\]"),
    ({"agents": {1: RandomAgent()}}, TypeError, "agents"),
    ({"env_args": [("num_products", 3)]}, TypeError, "env_args"),
    ({"env_args": {"num_products": 0}}, ValueError, "num_products"),
])
def test_bad_inputs_name_the_parameter(kwargs, error, match):
    arguments = {"env_args": {}, "agents": {"random": RandomAgent()}, "num_online_users": 10, "seed": 0,
                 **kwargs}
    positional = [arguments.pop(name) for name in ("env_args", "agents", "num_online_users", "seed")]
    with pytest.raises(error, match=match):
        compare(*positional, **arguments)


def test_verify_agents_checks_its_inputs(make_env):
    with pytest.raises(TypeError, match="env"):
        verify_agents({"num_products": 10}, 10, {"random": RandomAgent()})
    with pytest.raises(ValueError, match="number_of_users"):
        verify_agents(make_env(), 0, {"random": RandomAgent()})
    with pytest.raises(TypeError, match=r"agents\['x'\]"):
        verify_agents(make_env(), 10, {"x": 3})
