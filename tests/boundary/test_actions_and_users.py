"""Actions and user ids: a bad product or user id is refused before it reaches
the engine, and leaves the current user as it was."""
import re

import numpy as np
import pytest

import recogym
from recogym.session import Action
from support.boundary import MODELS, RNGS, NUM_PRODUCTS, MAX_USER_ID, all_of, make_env, started_env, snapshot


# -- actions --------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("action, exception, match", [
    (-1, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (NUM_PRODUCTS, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (2**64, ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (np.int64(-3), ValueError, all_of("action", f"[0, {NUM_PRODUCTS})")),
    (1.5, TypeError, all_of("action", "integer")),
    ("3", TypeError, all_of("action", "integer")),
    (True, TypeError, all_of("action", "integer")),
    (np.bool_(True), TypeError, all_of("action", "integer")),
    (np.float64(2.0), TypeError, all_of("action", "integer")),
    ([3], TypeError, all_of("action", "integer")),
    (None, TypeError, all_of("action", "None")),
], ids=["-1", "num_products", "2**64", "np.int64(-3)", "1.5", "str", "True", "np.bool_", "np.float64",
        "list", "None"])
def test_bad_action_is_rejected_and_does_not_corrupt_the_user(model, rng, action, exception, match):
    env = started_env(model, user=5, rng=rng)
    twin = started_env(model, user=5, rng=rng)
    with pytest.raises(exception, match=match):
        env.step(action)
    # Nothing was drawn: the next valid steps match a twin that never saw the bad action.
    for valid in (3, 4, 5):
        result, expected = env.step(valid), twin.step(valid)
        assert snapshot(result) == snapshot(expected)
        if result[2]:
            break


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("action", [0, 3, np.int64(0), -1])
def test_first_step_requires_action_none(model, action):
    env = make_env(model)
    twin = make_env(model)
    env.reset(2)
    twin.reset(2)
    with pytest.raises(ValueError, match=re.escape("action=None")):
        env.step(action)
    assert snapshot(env.step(None)) == snapshot(twin.step(None))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("cast", [np.int64, np.int32, np.uint8, Action], ids=["int64", "int32", "uint8", "Action"])
def test_numpy_integer_actions_are_accepted(model, rng, cast):
    env = started_env(model, user=1, rng=rng)
    twin = started_env(model, user=1, rng=rng)
    for action in (3, 0, NUM_PRODUCTS - 1):
        result, expected = env.step(cast(action)), twin.step(action)
        assert snapshot(result) == snapshot(expected)
        if result[2]:
            break


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("action, exception", [(-1, ValueError), (NUM_PRODUCTS, ValueError), (1.5, TypeError),
                                               (True, TypeError)])
def test_click_probability_rejects_bad_products(model, action, exception):
    env = started_env(model)
    with pytest.raises(exception, match="action"):
        env.click_probability(action)

# -- user ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("user_id, exception", [
    (-1, ValueError), (2**63, ValueError), (2**64, ValueError), (np.uint64(2**64 - 1), ValueError),
    (1.5, TypeError), (1.0, TypeError), (np.float64(1.0), TypeError), (True, TypeError),
    (np.bool_(False), TypeError), ("3", TypeError),
], ids=["-1", "2**63", "2**64", "np.uint64-max", "1.5", "1.0", "np.float64", "True", "np.bool_", "str"])
def test_bad_user_id_is_rejected_and_does_not_disturb_the_current_user(model, user_id, exception):
    env = started_env(model, user=4)
    twin = started_env(model, user=4)
    with pytest.raises(exception, match=all_of("user_id", f"[0, {MAX_USER_ID}]")):
        env.reset(user_id)
    assert snapshot(env.step(1)) == snapshot(twin.step(1))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("user_id", [0, np.int64(7), np.uint32(7), MAX_USER_ID])
def test_valid_user_ids_are_accepted(model, user_id):
    env = make_env(model)
    env.reset(user_id)
    observation, reward, done, _ = env.step(None)
    assert reward is None
    if observation is not None:
        assert observation.user == int(user_id)


def test_click_probability_checks_action_objects():
    env = make_env("reco-gym-v0")
    env.reset()
    env.step(None)
    with pytest.raises(ValueError, match="action"):
        env.click_probability(Action(50))


@pytest.mark.parametrize("policy", [np.array([0.2, 0.3, 0.5]), -np.full(10, 0.1), np.full(10, 0.2),
                                    np.full(10, np.nan)])
def test_simulate_rejects_bad_policies(policy):
    env = make_env("reco-gym-v1")
    with pytest.raises(ValueError, match="policy"):
        env.simulate(5, policy=policy)


@pytest.mark.parametrize("name,kwargs", [("num_users", {"num_users": -1}),
                                         ("num_organic_users", {"num_users": 1, "num_organic_users": 1.5}),
                                         ("first_user", {"num_users": 1, "first_user": -3}),
                                         ("2\\*\\*63", {"num_users": 5, "first_user": 2**63 - 2})])
def test_simulate_rejects_bad_counts(name, kwargs):
    env = make_env("reco-gym-v1")
    with pytest.raises((TypeError, ValueError), match=name):
        env.simulate(**kwargs)


def test_simulate_accepts_a_fixed_policy():
    env = make_env("reco-gym-v1")
    policy = np.zeros(NUM_PRODUCTS)
    policy[[2, 5]] = [0.25, 0.75]
    logs = env.simulate(50, policy=policy)
    impressions = logs.z == 1
    assert set(logs.a[impressions]) == {2, 5}
    np.testing.assert_array_equal(logs.ps[impressions], policy[logs.a[impressions]])


# -- regressions of the fuzzing review ------------------------------------------------


def test_a_list_env_id_is_refused_naming_the_ids():
    with pytest.raises(ValueError, match=all_of("env id", "reco-gym-v1", "reco-gym-v0")):
        recogym.make(["reco-gym-v1"])


def test_a_policy_of_strings_is_refused_by_name():
    with pytest.raises(TypeError, match="policy must be a probability vector"):
        make_env("reco-gym-v1").simulate(1, policy=["a"] * NUM_PRODUCTS)


@pytest.mark.parametrize("epsilon", [1e308, float("inf"), -1.0])
def test_user_popularity_refuses_epsilons_that_overflow(epsilon):
    with pytest.raises(ValueError, match=all_of("UserPopularity epsilon", "1000000000000.0")):
        recogym.UserPopularity(epsilon)


def test_user_popularity_takes_numpy_numbers():
    logs = make_env("reco-gym-v1").simulate(5, policy=recogym.UserPopularity(np.int64(1)))
    assert ((logs.ps[logs.impressions] > 0) & (logs.ps[logs.impressions] <= 1)).all()
