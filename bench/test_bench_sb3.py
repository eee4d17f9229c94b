"""PPO steps per second through RecoGymVecEnv (the native engine) and
through DummyVecEnv x8 of the single env, in the same run, and the CTR each
trained policy reaches after the same number of steps.

Both runs use the same PPO: the same rollout size per update (8,192 steps),
minibatch and epochs; only how the steps are collected differs (1,024 users
x 8 steps, or 8 envs x 1,024 steps).

PPO's own updates cost the same in both runs, which caps the whole-run ratio
whatever the env costs: ``test_ppo_updates_alone`` times them, so the cap is
measured in the same run (DummyVecEnv's time over the updates' time). The
rollout rows time what the env decides, SB3 collecting rollouts with the
same policy.
"""
import math

import numpy as np
import pytest

import recogym

sb3 = pytest.importorskip("stable_baselines3", reason="stable-baselines3 is not installed")
torch = pytest.importorskip("torch", reason="torch is not installed")

from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

from recogym.integrations.sb3 import RecoGymVecEnv  # noqa: E402

P = 10
TIMESTEPS = 65_536
ROLLOUT = 8_192
GROUP = f"PPO {TIMESTEPS} steps, P={P}"
ENV_ARGS = {"num_products": P, "random_seed": 42}
_ctr = {}


def train(envs, num_envs):
    torch.set_num_threads(1)   # a small MLP on CPU: threads only contend
    model = sb3.PPO("MlpPolicy", envs, n_steps=ROLLOUT // num_envs, batch_size=2048, n_epochs=2, gamma=0.9,
                    seed=0, device="cpu")
    return model.learn(total_timesteps=TIMESTEPS)


def make_envs(vec_env):
    if vec_env.startswith("Dummy"):
        return make_vec_env("recogym/RecoGym-v1", n_envs=8, seed=0, env_kwargs=ENV_ARGS,
                            wrapper_class=recogym.CumulativeViewCounts)
    return RecoGymVecEnv(1024, **ENV_ARGS)


def collect_rollouts(model, rollouts):
    """SB3's rollout collection alone, ``rollouts`` times: the env's steps and
    the policy's forward passes, no updates."""
    _, callback = model._setup_learn(ROLLOUT * rollouts, None)
    callback.on_training_start(locals(), globals())
    for _ in range(rollouts):
        model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    return model


def ctr_of(model, steps=200):
    """Clicks per impression of the deterministic policy over the same users,
    with a 95% normal interval."""
    envs = RecoGymVecEnv(1024, **ENV_ARGS)
    envs.seed(123)
    observations = envs.reset()
    clicks = 0.0
    for _ in range(steps):
        actions, _ = model.predict(observations, deterministic=True)
        observations, rewards, _, _ = envs.step(actions)
        clicks += float(rewards.sum())
    impressions = steps * envs.num_envs
    ctr = clicks / impressions
    half = 1.96 * math.sqrt(ctr * (1 - ctr) / impressions)
    return ctr, ctr - half, ctr + half


@pytest.mark.parametrize("vec_env", ["DummyVecEnv x8 of the single env", "RecoGymVecEnv x1024"])
def test_ppo_learn(throughput, vec_env):
    reference = vec_env.startswith("Dummy")
    envs = make_envs(vec_env)
    model = throughput(GROUP, f"{vec_env}, PPO steps", lambda: train(envs, envs.num_envs),
                       lambda model: model.num_timesteps, rounds=1, warmup_rounds=0, reference=reference)
    assert model.num_timesteps >= TIMESTEPS
    _ctr[vec_env] = ctr = ctr_of(model)
    print(f"\n{vec_env}: CTR {ctr[0]:.4f} [{ctr[1]:.4f}, {ctr[2]:.4f}]")
    # Random recommendations click about 1.1% of the time here; PPO learns more.
    assert 0.01 < ctr[0] < 0.05
    if len(_ctr) == 2:
        (_, low, high), (_, other_low, other_high) = _ctr.values()
        assert low <= other_high and other_low <= high, f"the CTRs differ: {_ctr}"


def test_ppo_updates_alone(throughput):
    """PPO's updates of a run, on rollouts already collected: the part of
    either run no env can speed up."""
    model = sb3.PPO("MlpPolicy", RecoGymVecEnv(1024, **ENV_ARGS), n_steps=ROLLOUT // 1024, batch_size=2048,
                    n_epochs=2, gamma=0.9, seed=0, device="cpu")
    torch.set_num_threads(1)
    collect_rollouts(model, 1)

    def updates():
        for _ in range(TIMESTEPS // ROLLOUT):
            model.train()
        return TIMESTEPS

    throughput(GROUP, "PPO updates alone (the cap: no env)", updates, lambda steps: steps, rounds=1,
               warmup_rounds=0, reference=False)


@pytest.mark.parametrize("vec_env", ["DummyVecEnv x8 of the single env", "RecoGymVecEnv x1024"])
def test_ppo_rollouts(throughput, vec_env):
    envs = make_envs(vec_env)
    torch.set_num_threads(1)
    model = sb3.PPO("MlpPolicy", envs, n_steps=ROLLOUT // envs.num_envs, batch_size=2048, n_epochs=2, gamma=0.9,
                    seed=0, device="cpu")
    model = throughput(f"PPO rollouts {TIMESTEPS} steps, P={P}", f"{vec_env}, rollout steps",
                       lambda: collect_rollouts(model, TIMESTEPS // ROLLOUT), lambda model: model.num_timesteps,
                       rounds=1, warmup_rounds=0, reference=vec_env.startswith("Dummy"))
    assert model.num_timesteps >= TIMESTEPS
