"""Call order: stepping before init_gym or reset, or after the user is done,
is refused with a message that says what to call first."""
import pytest

import recogym
from support.boundary import MODELS, RNGS, all_of, make_env, started_env, assert_env_works, run_user_to_done, run_user_offline_to_done


# -- call order ---------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("action", [None, 0])
def test_step_before_init_gym_is_rejected(model, action):
    env = recogym.make(model)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(action)
    with pytest.raises(RuntimeError, match="reset"):
        env.step_offline()


@pytest.mark.parametrize("model", MODELS)
def test_reset_and_friends_before_init_gym_are_rejected(model):
    env = recogym.make(model)
    with pytest.raises(RuntimeError, match="init_gym"):
        env.reset()
    with pytest.raises(RuntimeError, match="init_gym"):
        env.reset(3)
    with pytest.raises(RuntimeError, match="init_gym"):
        env.generate_logs(1)
    with pytest.raises(RuntimeError, match="init_gym"):
        env.reset_random_seed()
    with pytest.raises(RuntimeError, match="reset"):
        env.click_probability(0)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("action", [None, 0])
def test_step_before_reset_is_rejected(model, action):
    env = make_env(model)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(action)
    with pytest.raises(RuntimeError, match="reset"):
        env.step_offline()
    with pytest.raises(RuntimeError, match="reset"):
        env.click_probability(0)
    assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
def test_step_after_generate_logs_needs_a_reset(model):
    env = started_env(model)
    env.generate_logs(1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    assert_env_works(env)


def assert_phantom_step(env):
    """0.1.3.0's step_offline after done: the logging policy's action, an
    empty observation, reward 0, done, info None."""
    action, observation, reward, done, info = env.step_offline()
    assert 0 <= action < env.num_products and 0 < action.ps <= 1
    assert (observation, reward, done, info) == ([], 0, True, None)


@pytest.mark.parametrize("model", MODELS)
def test_step_after_done_is_rejected(model):
    env = make_env(model, rng="default", prob_leave_bandit=0.2)
    run_user_to_done(env)
    for action in (0, None):
        with pytest.raises(RuntimeError, match=all_of("done", "reset")):
            env.step(action)
    assert_phantom_step(env)
    assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
def test_legacy_steps_on_after_done_as_0_1_3_0(model):
    env = make_env(model, rng="legacy", prob_leave_bandit=0.2)
    run_user_to_done(env)
    with pytest.raises(TypeError, match="action"):
        env.step(None)
    observation, reward, done, info = env.step(0)
    assert reward in (0, 1) and info == {} and done == (not observation or env.state == 2)
    assert_env_works(env)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", RNGS)
def test_step_offline_after_done_draws_the_phantom_action(model, rng):
    env = make_env(model, rng=rng, prob_leave_bandit=0.2)
    run_user_offline_to_done(env)
    assert_phantom_step(env)
    assert_phantom_step(env)
    if rng == "default":
        with pytest.raises(RuntimeError, match=all_of("done", "reset")):
            env.step(0)
    assert_env_works(env)
