"""Property: the Gymnasium env and the native vector env refuse bad actions
by name, and otherwise return observations in their spaces."""
import gymnasium
import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import recogym  # noqa: F401  (registers the envs)

ACTION = st.one_of(st.integers(-3, 12), st.floats(allow_nan=True), st.none(), st.text(max_size=1),
                   st.builds(np.int64, st.integers(-2, 11)))


@given(actions=st.lists(ACTION, min_size=1, max_size=30), seed=st.integers(0, 2**32))
def test_the_single_env_refuses_bad_actions_by_name(actions, seed):
    env = gymnasium.make("recogym/RecoGym-v1").unwrapped
    observation, _ = env.reset(seed=seed)
    assert env.observation_space.contains(observation)
    for action in actions:
        try:
            observation, reward, terminated, _, _ = env.step(action)
        except (TypeError, ValueError) as error:
            assert "action" in str(error)
            continue
        assert env.observation_space.contains(observation) and reward in (0.0, 1.0)
        if terminated:
            observation, _ = env.reset()


@given(actions=st.lists(st.lists(st.integers(-2, 11), min_size=1, max_size=5), min_size=1, max_size=10))
def test_the_vector_env_refuses_bad_actions_by_name(actions):
    env = gymnasium.make_vec("recogym/RecoGym-v1", num_envs=3)
    env.reset(seed=1)
    for batch in actions:
        try:
            observations, rewards, _, _, _ = env.step(np.array(batch))
        except (TypeError, ValueError) as error:
            assert "actions" in str(error)
            continue
        assert env.observation_space.contains(observations) and np.isin(rewards, [0.0, 1.0]).all()
