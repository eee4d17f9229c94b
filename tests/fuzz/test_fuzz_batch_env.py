"""Property: BatchEnv refuses bad slots and actions by name, before the
engine sees them, and otherwise steps exactly the slots it is given."""
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym

SLOTS = st.one_of(
    st.lists(st.integers(-2, 6), max_size=6).map(lambda xs: np.array(xs, dtype=np.int64)),
    st.lists(st.integers(0, 3), max_size=4).map(lambda xs: np.array(xs, dtype=np.int32)),
    st.lists(st.integers(0, 3), max_size=4),
    st.lists(st.floats(0, 3), min_size=1, max_size=3).map(np.array),
    st.just(np.zeros((2, 2), dtype=np.int64)),
)
ACTIONS = st.one_of(st.lists(st.integers(-2, 12), max_size=6), st.lists(st.floats(0, 9), max_size=4))


@given(steps=st.lists(st.tuples(SLOTS, ACTIONS), min_size=1, max_size=8))
def test_slots_and_actions_are_refused_by_name_or_stepped(steps):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 2})
    batch = recogym.BatchEnv(env, 4)
    batch.start(40)
    for slots, actions in steps:
        before = batch.steps.copy()
        try:
            clicks, probabilities = batch.recommend(slots, actions)
        except (TypeError, ValueError) as error:
            assert "slots" in str(error) or "actions" in str(error)
            np.testing.assert_array_equal(batch.steps, before)
            continue
        stepped = np.asarray(slots, dtype=np.int64)
        assert len(clicks) == len(stepped) and np.isin(clicks, [0, 1]).all()
        assert ((probabilities >= 0) & (probabilities <= 1)).all()
        untouched = np.setdiff1d(np.arange(4), stepped)
        np.testing.assert_array_equal(batch.steps[untouched], before[untouched])
