"""Property: a logging policy is refused by name or gives logs whose
propensities are those of the policy and satisfy the invariants."""
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym
from recogym import UserPopularity
from support.invariants import assert_logs_valid

VECTOR = st.one_of(st.lists(st.one_of(st.floats(-0.1, 1), st.just(float("nan"))), min_size=1, max_size=12)
                   .map(np.array),
                   st.integers(1, 10).map(lambda n: np.full(10, 1.0 / n)),
                   st.lists(st.text(max_size=1), min_size=10, max_size=10))


@given(vector=VECTOR, model=st.sampled_from(["reco-gym-v1", "reco-gym-v0"]))
def test_a_fixed_policy_is_refused_by_name_or_logged_as_given(vector, model):
    env = recogym.make(model)
    env.init_gym({"random_seed": 3})
    try:
        logs = env.simulate(4, policy=vector)
    except (TypeError, ValueError) as error:
        assert "policy" in str(error)
        return
    assert_logs_valid(logs, 10, 0, 4)
    shown = logs.a[logs.impressions]
    np.testing.assert_array_equal(logs.ps[logs.impressions], np.asarray(vector, dtype=float)[shown])


@given(epsilon=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 10**13),
                         st.builds(np.int64, st.integers(0, 100))))
def test_user_popularity_is_refused_by_name_or_logged_in_domain(epsilon):
    try:
        policy = UserPopularity(epsilon)
    except (TypeError, ValueError) as error:
        assert "epsilon" in str(error)
        return
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 3})
    assert_logs_valid(env.simulate(4, policy=policy), 10, 0, 4)
