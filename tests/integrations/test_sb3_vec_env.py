"""recogym.integrations.sb3: the SB3 VecEnv over the native engine, and
SB3's one-liners on the registered ids."""
import warnings

import gymnasium
import numpy as np
import pytest

import recogym

sb3 = pytest.importorskip("stable_baselines3", reason="stable-baselines3 is not installed")

from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv  # noqa: E402

from recogym.integrations.sb3 import RecoGymVecEnv  # noqa: E402

# Gymnasium warns when SB3 asks for 'rgb_array'; the env's TypeError then makes SB3 ask for no mode.
RGB_ARRAY = r".*render_mode='rgb_array' that is not in the possible render_modes"


@pytest.mark.parametrize("env_id", ["recogym/RecoGym-v1", "recogym/RecoGymClusters-v0"])
def test_sb3_check_env_passes(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gymnasium.make(env_id).unwrapped)
        check_env(recogym.CumulativeViewCounts(gymnasium.make(env_id)))


def test_sb3_one_liners_work_on_the_id_alone():
    with pytest.warns(UserWarning, match=RGB_ARRAY):
        envs = make_vec_env("recogym/RecoGym-v1")
    assert envs.num_envs == 1 and envs.render_mode is None
    envs.reset()
    with pytest.warns(UserWarning, match=RGB_ARRAY):
        model = sb3.PPO("MlpPolicy", "recogym/RecoGym-v1", n_steps=64, batch_size=64, device="cpu")
    model.learn(64)
    assert model.num_timesteps == 64


def test_ppo_trains_on_the_vec_env():
    envs = RecoGymVecEnv(16, num_products=5)
    assert isinstance(envs, VecEnv) and envs.num_envs == 16
    assert envs.observation_space == gymnasium.spaces.Box(0.0, recogym.gym_env.VIEW_COUNT_HIGH, (5,), np.float32)
    model = sb3.PPO("MlpPolicy", envs, n_steps=32, batch_size=128, seed=0, device="cpu").learn(1024)
    assert model.num_timesteps == 1024
    actions, _ = model.predict(envs.reset(), deterministic=True)
    assert actions.shape == (16,) and np.all((0 <= actions) & (actions < 5))


def test_terminal_observations_are_the_ended_users_cumulative_counts():
    envs = RecoGymVecEnv(32, num_products=6, prob_leave_bandit=0.2)
    per_step = RecoGymVecEnv(32, cumulative=False, num_products=6, prob_leave_bandit=0.2)
    envs.seed(3)
    per_step.seed(3)
    counts = envs.reset()
    totals = per_step.reset().astype(np.float64)
    np.testing.assert_array_equal(counts, totals)
    ended = 0
    for _ in range(30):
        actions = np.arange(32) % 6
        counts, rewards, dones, infos = envs.step(actions)
        views, same_rewards, same_dones, per_step_infos = per_step.step(actions)
        np.testing.assert_array_equal(rewards, same_rewards)
        np.testing.assert_array_equal(dones, same_dones)
        assert rewards.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == 32
        for slot in range(32):
            if dones[slot]:
                final = totals[slot] + per_step_infos[slot]["terminal_observation"]
                np.testing.assert_array_equal(infos[slot]["terminal_observation"], final)
                assert infos[slot]["TimeLimit.truncated"] is False
                totals[slot] = views[slot]
                ended += 1
            else:
                assert infos[slot] == {}
                totals[slot] += views[slot]
        np.testing.assert_array_equal(counts, totals)
    assert ended > 20


def test_truncation_is_reported_as_sb3_expects():
    envs = RecoGymVecEnv(4, max_episode_steps=2, prob_leave_bandit=1e-6, prob_bandit_to_organic=0.0)
    envs.reset()
    _, _, dones, _ = envs.step(np.zeros(4, dtype=np.int64))
    assert not dones.any()
    _, _, dones, infos = envs.step(np.zeros(4, dtype=np.int64))
    assert dones.all() and all(info["TimeLimit.truncated"] for info in infos)


def run(envs, seed, steps=50):
    envs.seed(seed)
    trace = [envs.reset()]
    for _ in range(steps):
        trace.extend(envs.step(np.zeros(envs.num_envs, dtype=np.int64))[:2])
    return trace


def test_seed_chooses_the_users():
    envs = RecoGymVecEnv(8)
    first = run(envs, 5)
    for x, y in zip(first, run(envs, 5)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(run(envs, 6)[0], first[0])
    # Without a new seed, reset draws new users.
    assert not np.array_equal(envs.reset(), first[0])


def test_attributes_and_methods_reach_the_native_env():
    envs = RecoGymVecEnv(4, num_products=7)
    assert envs.get_attr("num_products") == [7] * 4 and envs.get_attr("num_products", [1]) == [7]
    assert envs.env_is_wrapped(gymnasium.Wrapper) == [False] * 4
    envs.set_attr("max_episode_steps", 3)
    assert envs.native.max_episode_steps == 3
    with pytest.raises(IndexError, match="indices"):
        envs.get_attr("num_products", [4])
    with pytest.raises(ValueError, match="env_id must be one of"):
        RecoGymVecEnv(2, env_id="CartPole-v1")
