"""User-steps per second of the Gymnasium vector envs and of the batch env.

A user-step is one recommendation shown to one user (autoreset steps, which
show nothing, are not counted).
"""
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import recogym
from recogym.batch import BatchEnv
from recogym.gym_env import register_envs

register_envs()

NUM_ENVS = 1024


def make_vec(mode, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return gymnasium.make_vec("recogym/RecoGym-v1", num_envs=NUM_ENVS, vectorization_mode=mode, **kwargs)


def reset(envs):
    envs.reset(seed=0)


def run_vector_env(envs, steps):
    """Step ``envs`` with a fixed action; returns (user-steps, clicks)."""
    actions = np.full(NUM_ENVS, 3, dtype=np.int64)
    user_steps = clicks = 0
    for _ in range(steps):
        _, rewards, _, _, info = envs.step(actions)
        user_steps += int(info["_click_probability"].sum())
        clicks += int(rewards.sum())
    return user_steps, clicks


def check_vector_run(result, steps):
    user_steps, clicks = result
    # About 1% of the slots autoreset at each step.
    assert 0.95 * steps * NUM_ENVS < user_steps <= steps * NUM_ENVS
    assert 0.002 < clicks / user_steps < 0.05


@pytest.mark.parametrize("mode", ["sync", "vector_entry_point"])
def test_vector_env(throughput, mode):
    envs = make_vec(mode)
    steps = 10 if mode == "sync" else 1000
    name = ("SyncVectorEnv of the single env" if mode == "sync" else "native RecoGymVectorEnv")
    result = throughput(f"vector env x{NUM_ENVS}", f"{name}, user-steps", lambda: run_vector_env(envs, steps),
                        lambda result: result[0], rounds=2 if mode == "sync" else 3,
                        reference=mode == "sync", setup=lambda: reset(envs))
    check_vector_run(result, steps)


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_vector_env_autoreset_modes(throughput, autoreset_mode):
    """The other autoreset modes beside NEXT_STEP, in the same group. Every
    slot is shown something at every step; SAME_STEP pays a second engine
    call (and ``final_obs``) at each step where a user ends, DISABLED a
    masked reset."""
    envs = make_vec("vector_entry_point", autoreset_mode=autoreset_mode)

    def run(steps=1000):
        actions = np.full(NUM_ENVS, 3, dtype=np.int64)
        user_steps = clicks = 0
        for _ in range(steps):
            _, rewards, terminated, truncated, info = envs.step(actions)
            user_steps += NUM_ENVS
            clicks += int(rewards.sum())
            ended = terminated | truncated
            if autoreset_mode == AutoresetMode.DISABLED and ended.any():
                envs.reset(options={"reset_mask": ended})
        return user_steps, clicks

    result = throughput(f"vector env x{NUM_ENVS}", f"native, {autoreset_mode.name}, user-steps", run,
                        lambda result: result[0], setup=lambda: reset(envs))
    check_vector_run(result, 1000)


def argmax_agent(view_counts):
    """A trivial numpy policy: each user's most viewed product."""
    return view_counts.argmax(axis=1)


def run_batch_env(batch_env, num_users):
    batch_env.start(num_users)
    user_steps = clicks = 0
    slots = batch_env.active_slots()
    while slots.size:
        outcome, _ = batch_env.recommend(slots, argmax_agent(batch_env.observe(slots).view_counts))
        user_steps += len(slots)
        clicks += int(outcome.sum())
        slots = batch_env.active_slots()
    return user_steps, clicks


def run_classic_env(env, num_users):
    user_steps = clicks = 0
    for _ in range(num_users):
        env.reset()
        counts = np.zeros(env.num_products)
        observation, _, done, _ = env.step(None)
        while not done:
            if observation:
                np.add.at(counts, observation.get_views(), 1.0)
            observation, reward, done, _ = env.step(int(argmax_agent(counts[None, :])[0]))
            user_steps += 1
            clicks += reward
    return user_steps, clicks


def classic_env():
    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 42})
    return env


def test_classic_env_numpy_agent(throughput):
    env = classic_env()
    user_steps, clicks = throughput("numpy agent", "classic env.step loop, user-steps",
                                    lambda: run_classic_env(env, 200), lambda result: result[0],
                                    rounds=1, reference=True)
    assert user_steps > 10_000 and 0.002 < clicks / user_steps < 0.05


def test_batch_env_numpy_agent(throughput):
    batch_env = BatchEnv(classic_env(), num_envs=NUM_ENVS)
    num_users = 20 * NUM_ENVS
    user_steps, clicks = throughput("numpy agent", f"BatchEnv x{NUM_ENVS} argmax agent, user-steps",
                                    lambda: run_batch_env(batch_env, num_users), lambda result: result[0])
    assert user_steps > 50 * num_users and 0.002 < clicks / user_steps < 0.05
