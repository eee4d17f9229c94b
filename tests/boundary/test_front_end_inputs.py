"""The front ends' inputs that index the engine's slots and streams: slots,
actions, user ids and counts. Each bad input gets an exception naming it
before anything reaches a kernel, and the front end keeps working.

Under the bounds-checked build (RECOGYM_CYTHON_DEBUG=1), which CI runs this
suite against too, a check missing here would surface as a kernel IndexError
instead of the expected error.
"""
import numpy as np
import pytest

import recogym
from support.boundary import MAX_USER_ID, all_of, make_env


def batch_env(num_envs=4, num_users=50):
    env = make_env("reco-gym-v1", random_seed=3)
    batch = recogym.BatchEnv(env, num_envs)
    batch.start(num_users)
    return batch


BAD_SLOTS = [
    pytest.param(np.array([4]), ValueError, all_of("slots", "[0, 4)"), id="past-the-end"),
    pytest.param(np.array([-1]), ValueError, all_of("slots", "[0, 4)"), id="negative"),
    pytest.param(np.array([0, 0]), ValueError, all_of("slots", "repeat"), id="duplicate"),
    pytest.param(np.array([[0, 1]]), ValueError, all_of("slots", "1-d"), id="2-d"),
    pytest.param(np.array([0.0, 1.0]), ValueError, all_of("slots", "integer"), id="floats"),
    pytest.param(np.array([2**40]), ValueError, all_of("slots", "[0, 4)"), id="huge"),
]


@pytest.mark.parametrize("slots, exception, match", BAD_SLOTS)
def test_batch_env_observe_checks_slots(slots, exception, match):
    batch = batch_env()
    with pytest.raises(exception, match=match):
        batch.observe(slots)
    assert len(batch.observe(batch.active_slots()).user_ids) == len(batch.active_slots())


@pytest.mark.parametrize("slots, exception, match", BAD_SLOTS)
def test_batch_env_recommend_checks_slots(slots, exception, match):
    batch = batch_env()
    before = batch.steps.copy()
    with pytest.raises(exception, match=match):
        batch.recommend(slots, np.zeros(np.asarray(slots).shape[-1], dtype=np.int64))
    np.testing.assert_array_equal(batch.steps, before)


def test_batch_env_takes_lists_and_int32_slots():
    batch = batch_env()
    slots = batch.active_slots()
    for given in (slots.tolist(), slots.astype(np.int32)):
        clicks, _ = batch.recommend(given, [0] * len(slots))
        assert len(clicks) == len(slots)
        slots = batch.active_slots()


def test_batch_env_refuses_slots_without_a_waiting_user():
    batch = batch_env(num_envs=4, num_users=2)       # two slots stay empty
    empty = np.setdiff1d(np.arange(4), batch.active_slots())
    assert empty.size
    with pytest.raises(ValueError, match=all_of("slots", "waits for a recommendation")):
        batch.recommend(empty[:1], [0])
    with pytest.raises(ValueError, match="waits for a recommendation"):
        batch.observe(empty[:1])


@pytest.mark.parametrize("actions, match", [
    (np.array([10, 0]), all_of("actions", "[0, 10)")),
    (np.array([-1, 0]), all_of("actions", "[0, 10)")),
    (np.array([0]), all_of("actions", "shape (2,)")),
    (np.array([0.5, 1.0]), all_of("actions", "integer")),
])
def test_batch_env_checks_actions(actions, match):
    batch = batch_env()
    slots = batch.active_slots()[:2]
    with pytest.raises(ValueError, match=match):
        batch.recommend(slots, actions)


@pytest.mark.parametrize("count, exception", [(-5, ValueError), (2.0, TypeError), (2**64, ValueError),
                                              (2**63 + 1, ValueError)])
def test_take_users_checks_its_count(count, exception):
    env = make_env("reco-gym-v1")
    with pytest.raises(exception, match="count|2\\*\\*63"):
        env.take_users(count)
    env.reset()
    env.step(None)
    assert env.take_users(3) == 1


def test_user_ids_reach_the_last_id_and_stop_there():
    env = make_env("reco-gym-v1")
    env.reset(MAX_USER_ID)
    env.step(None)
    with pytest.raises(ValueError, match="no user id is left"):
        env.reset()
    logs = env.simulate(1, first_user=MAX_USER_ID)
    assert set(logs.u.tolist()) == {MAX_USER_ID}
    with pytest.raises(ValueError, match="2\\*\\*63"):
        env.simulate(2, first_user=MAX_USER_ID)


def test_batch_env_serves_the_last_user_id():
    env = make_env("reco-gym-v1")
    batch = recogym.BatchEnv(env, 2)
    batch.start(1, first_user=MAX_USER_ID)
    assert set(batch.observe(batch.active_slots()).user_ids.tolist()) <= {MAX_USER_ID}
    with pytest.raises(ValueError, match="2\\*\\*63"):
        batch.start(2, first_user=MAX_USER_ID)


@pytest.mark.parametrize("num_envs", [0, -1, 1.5])
def test_batch_env_checks_its_size(num_envs):
    with pytest.raises((TypeError, ValueError), match="num_envs"):
        recogym.BatchEnv(make_env("reco-gym-v1"), num_envs)


def test_batch_env_needs_a_classic_env():
    with pytest.raises(TypeError, match="RecoEnv"):
        recogym.BatchEnv("reco-gym-v1", 4)
