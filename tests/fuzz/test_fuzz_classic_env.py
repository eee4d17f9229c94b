"""Property: the classic env refuses a bad action or user id by name and
keeps the user as they were; every step it takes satisfies the invariants."""
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym

ACTION = st.one_of(st.integers(-5, 14), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.none(),
                   st.booleans(), st.text(max_size=2), st.builds(np.int64, st.integers(-3, 12)),
                   st.builds(np.int32, st.integers(-3, 12)), st.lists(st.integers(0, 9), max_size=2))
USER = st.one_of(st.none(), st.integers(-3, 2**64), st.floats(0, 5), st.builds(np.uint64, st.integers(0, 2**63)))


@given(rng=st.sampled_from(["default", "legacy"]), model=st.sampled_from(["reco-gym-v1", "reco-gym-v0"]),
       user=USER, actions=st.lists(ACTION, min_size=1, max_size=40))
def test_bad_actions_and_user_ids_are_refused_by_name(rng, model, user, actions):
    env = recogym.make(model)
    env.init_gym({"rng": rng, "random_seed": 5})
    try:
        env.reset(user)
    except (TypeError, ValueError) as error:
        assert "user_id" in str(error)
        env.reset()
    observation, reward, done, _ = env.step(None)
    last_time = -1.0
    for action in actions:
        if done:
            break
        try:
            observation, reward, done, _ = env.step(action)
        except (TypeError, ValueError) as error:
            assert "action" in str(error)
            continue
        assert reward in (0, 1)
        if observation:
            assert all(0 <= view < env.num_products for view in observation.get_views())
            assert observation.times == sorted(observation.times) and observation.times[0] >= last_time
            last_time = observation.times[-1]
