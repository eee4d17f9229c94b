"""Property: whatever an agent returns is checked where it enters: a bad
action or propensity gets an error naming the agent, and a good one is
evaluated."""
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym
from recogym.agents import Agent, RandomAgent
from recogym.session import Action

PROPENSITY = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 1e-300]),
                       st.text(max_size=1), st.none())
PRODUCT = st.one_of(st.integers(-2, 12), st.floats(0, 9), st.none())
CHOICE = st.one_of(PRODUCT, st.builds(lambda a, ps: {"a": a, "ps": ps}, PRODUCT, PROPENSITY),
                   st.builds(lambda a, ps: Action(a, ps), st.integers(0, 12), st.floats(allow_nan=True)))


class Returning(Agent):
    def __init__(self, choice):
        super().__init__({"num_products": 10})
        self.choice = choice

    def act(self, observation, reward, done):
        return self.choice


@given(choice=CHOICE)
def test_an_agent_choice_is_refused_naming_the_agent_or_evaluated(choice):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 1})
    try:
        result = recogym.test_agent(env, Returning(choice), 0, 5)
    except (TypeError, ValueError) as error:
        assert "Returning.act()" in str(error)
        return
    assert 0 <= result.clicks <= result.impressions


class Policy(RandomAgent):
    def __init__(self, row):
        super().__init__({"num_products": 10})
        self.row = row

    def policy(self, batch):
        return np.broadcast_to(self.row, (len(batch.user_ids), 10))


@given(row=st.one_of(st.lists(st.one_of(st.floats(-1, 2), st.just(float("nan"))), min_size=10, max_size=10),
                    st.integers(1, 10).map(lambda n: [1.0 / n] * n + [0.0] * (10 - n))).map(np.array))
def test_a_policy_is_refused_naming_the_agent_or_acted_on(row):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 1})
    try:
        result = recogym.test_agent(env, Policy(row), 0, 5)
    except ValueError as error:
        assert "Policy.policy()" in str(error)
        return
    assert np.all(row >= 0) and abs(row.sum() - 1) <= 1e-6 and result.impressions >= 0
