"""What agents and counts bring in: user counts, an agent's bad actions, a
logging agent, agents' own arguments."""
import numpy as np
import pandas as pd
import pytest

import recogym
from recogym import Configuration
from recogym.agents import PopularityAgent, RandomAgent
from recogym.session import Action
from support.boundary import MODELS, RNGS, NUM_PRODUCTS, all_of, make_env, assert_env_works, FixedAgent


# -- generate_logs and test_agent -------------------------------------------------------

BAD_COUNTS = [-1, 1.5, "3", True, None]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("name", ["num_offline_users", "num_organic_offline_users"])
@pytest.mark.parametrize("value", BAD_COUNTS, ids=["negative", "float", "str", "bool", "None"])
def test_generate_logs_rejects_bad_user_counts(model, rng, name, value):
    env = make_env(model, rng=rng)
    twin = make_env(model, rng=rng)
    counts = {"num_offline_users": 2, "num_organic_offline_users": 1, name: value}
    with pytest.raises((TypeError, ValueError), match=name):
        env.generate_logs(**counts)
    # The rejected call drew nothing: the env's logs match a fresh twin's.
    pd.testing.assert_frame_equal(env.generate_logs(2), twin.generate_logs(2))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
def test_generate_logs_with_numpy_counts_is_accepted(model, rng):
    env = make_env(model, rng=rng)
    twin = make_env(model, rng=rng)
    pd.testing.assert_frame_equal(env.generate_logs(np.int64(2), num_organic_offline_users=np.int32(1)),
                                  twin.generate_logs(2, num_organic_offline_users=1))


@pytest.mark.parametrize("name", ["num_online_users", "num_offline_users", "num_organic_offline_users",
                                  "num_epochs"])
@pytest.mark.parametrize("value", [-1, 1.5, True], ids=["negative", "float", "bool"])
def test_test_agent_rejects_bad_counts(name, value):
    env = make_env("reco-gym-v1")
    counts = {"num_offline_users": 1, "num_online_users": 1, name: value}
    with pytest.raises((TypeError, ValueError), match=name):
        recogym.test_agent(env, RandomAgent(), **counts)
    assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("choice, exception, match", [
    (NUM_PRODUCTS, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (-1, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (Action(NUM_PRODUCTS), ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    ({"a": NUM_PRODUCTS, "ps": 0.1}, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    ({"ps": 0.1}, ValueError, "'a'"),
    ({}, ValueError, "'a'"),
    (1.5, TypeError, "action"),
    ("3", TypeError, "action"),
    (None, TypeError, "action"),
], ids=["num_products", "-1", "Action-out-of-range", "dict-out-of-range", "dict-without-a", "empty-dict",
        "float", "str", "None"])
def test_test_agent_rejects_an_agent_with_bad_actions(model, choice, exception, match):
    env = make_env(model)
    with pytest.raises(exception, match=match):
        recogym.test_agent(env, FixedAgent(choice), num_offline_users=1, num_online_users=5)


def test_test_agent_rejects_an_agent_with_more_products_than_the_env():
    env = make_env("reco-gym-v1")
    agent = RandomAgent({"num_products": 1000, "random_seed": 1})
    with pytest.raises(ValueError, match=all_of("action", f"[0, {NUM_PRODUCTS})")):
        recogym.test_agent(env, agent, num_offline_users=1, num_online_users=5)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("choice, exception, match", [
    (NUM_PRODUCTS, ValueError, "action"),
    ({"ps": 0.5}, ValueError, "'a'"),
    ("1", TypeError, "action"),
], ids=["out-of-range", "dict-without-a", "str"])
def test_logging_agent_with_bad_actions_is_rejected(model, choice, exception, match):
    env = make_env(model)
    with pytest.raises(exception, match=match):
        env.generate_logs(2, agent=FixedAgent(choice))
    env.init_gym({"agent": FixedAgent(choice)})
    env.reset()
    env.step_offline()
    with pytest.raises(exception, match=match):
        while True:
            env.step_offline()

# -- agents ---------------------------------------------------------------------------------

AGENTS = [RandomAgent, PopularityAgent]


@pytest.mark.parametrize("agent_class", AGENTS)
@pytest.mark.parametrize("config", [
    {"num_products": 0}, {"num_products": -3}, {}, {"random_seed": 1}, {"num_products": None},
    {"num_products": 2.5}, {"num_products": "3"}, {"num_products": True}, Configuration(num_products=0),
], ids=["zero", "negative", "empty", "missing", "None", "float", "str", "bool", "Configuration-zero"])
def test_agent_with_bad_num_products_is_rejected(agent_class, config):
    with pytest.raises((TypeError, ValueError), match=all_of("'num_products'", "integer >= 1")):
        agent_class(config)


@pytest.mark.parametrize("agent_class", AGENTS)
def test_agent_config_as_dict_or_configuration(agent_class):
    args = {"num_products": 5, "random_seed": 7}
    from_dict, from_config = agent_class(args), agent_class(Configuration(args))
    for agent in (from_dict, from_config):
        assert isinstance(agent.config, Configuration)
        assert agent.num_products == 5
    actions = [(int(from_dict.act(None, None, False)), int(from_config.act(None, None, False))) for _ in range(50)]
    assert all(a == b and 0 <= a < 5 for a, b in actions)
    assert agent_class().num_products == 10  # the default config


@pytest.mark.parametrize("agent_class", AGENTS)
def test_agents_from_dict_and_configuration_score_the_same(agent_class):
    args = {"num_products": 5, "random_seed": 3}
    results = []
    for config in (args, Configuration(args)):
        env = make_env("reco-gym-v1", num_products=5, prob_leave_bandit=0.2)
        result = recogym.test_agent(env, agent_class(config), num_offline_users=3, num_online_users=3)
        results.append((result.clicks, result.impressions))
    assert results[0] == results[1]
    assert results[0][1] > 0


@pytest.mark.parametrize("agent", [5, object()])
def test_logging_agent_must_act(agent):
    with pytest.raises(TypeError, match="agent"):
        make_env("reco-gym-v1", agent=agent)
    with pytest.raises(TypeError, match="agent"):
        make_env("reco-gym-v1").generate_logs(1, agent=agent)


# -- what agents return: propensities and policies ------------------------------


class ChoosingAgent(FixedAgent):
    """An agent whose act() returns ``choice`` (an Action, dict or int)."""


@pytest.mark.parametrize("ps", [0.0, -1.0, 2.0, float("inf"), float("nan")])
def test_a_logging_agent_with_bad_propensities_is_refused(ps):
    env = make_env("reco-gym-v1", agent=ChoosingAgent({"a": 3, "ps": ps}))
    with pytest.raises(ValueError, match=all_of("ChoosingAgent.act()", "propensity", "(0, 1]")):
        env.generate_logs(5)


@pytest.mark.parametrize("choice", [Action(3, 0.0), Action(3, float("nan")), {"a": 3, "ps": "high"}])
def test_an_online_agent_with_bad_propensities_is_refused(choice):
    with pytest.raises((TypeError, ValueError), match="propensity"):
        recogym.test_agent(make_env("reco-gym-v1"), ChoosingAgent(choice), 0, 20)


class BadPolicy(RandomAgent):
    """A batch agent whose policy returns ``rows`` for every user."""

    def __init__(self, rows):
        super().__init__({"num_products": NUM_PRODUCTS})
        self.rows = np.asarray(rows, dtype=np.float64)

    def policy(self, batch):
        return np.broadcast_to(self.rows, (len(batch.user_ids), NUM_PRODUCTS))


@pytest.mark.parametrize("rows, match", [
    (np.full(NUM_PRODUCTS, np.nan), "finite, non-negative"),
    (np.r_[-0.5, 1.5, np.zeros(NUM_PRODUCTS - 2)], "finite, non-negative"),
    (np.full(NUM_PRODUCTS, 0.5), "sum to 1"),
])
def test_a_batch_agent_whose_policy_is_not_a_distribution_is_refused(rows, match):
    agent = BadPolicy(rows)
    with pytest.raises(ValueError, match=all_of("BadPolicy.policy()", match)):
        recogym.test_agent(make_env("reco-gym-v1"), agent, 0, 20)
    with pytest.raises(ValueError, match="BadPolicy.policy()"):
        agent.act(None, None, False)
