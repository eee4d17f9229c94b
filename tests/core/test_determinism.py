"""Same seed, same output: across runs, copies, pickles, chunk sizes and
however the users are split."""
import copy
import pickle

import numpy as np
import pandas as pd
import pytest

import recogym
import recogym.logs


def trace(env, users, actions=(3, 1, 4, 1, 5, 9, 2, 6)):
    """Every observation, reward and done of ``users`` users under a fixed action cycle."""
    out = []
    for _ in range(users):
        env.reset()
        observation, reward, done, _ = env.step(None)
        out.append((None if observation is None else observation.get_views(), reward, done))
        step = 0
        while not done:
            observation, reward, done, _ = env.step(actions[step % len(actions)] % env.num_products)
            out.append((None if observation is None else observation.get_views(), reward, done))
            step += 1
    return out


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_same_seed_same_logs(make_env, model, rng):
    first = make_env(model, random_seed=5, rng=rng).generate_logs(30, num_organic_offline_users=4)
    second = make_env(model, random_seed=5, rng=rng).generate_logs(30, num_organic_offline_users=4)
    pd.testing.assert_frame_equal(first, second)
    other = make_env(model, random_seed=6, rng=rng).generate_logs(30, num_organic_offline_users=4)
    assert not first.equals(other)


@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_reset_random_seed_replays(make_env, rng):
    env = make_env(random_seed=3, rng=rng)
    first = trace(env, 5)
    env.reset_random_seed()
    assert trace(env, 5) == first


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_deepcopy_and_pickle_continue_identically(make_env, model, rng):
    env = make_env(model, random_seed=11, rng=rng, time_generator="normal")
    trace(env, 3)
    env.reset()
    env.step(None)
    copied, pickled = copy.deepcopy(env), pickle.loads(pickle.dumps(env))
    expected = trace(env, 6)
    assert trace(copied, 6) == expected
    assert trace(pickled, 6) == expected


def test_user_depends_only_on_seed_and_id(make_env):
    """Default mode: user 17 is the same whatever ran before it."""
    fresh = make_env(random_seed=8)
    fresh.reset(17)
    expected = trace_current(fresh)
    busy = make_env(random_seed=8)
    trace(busy, 9)
    busy.generate_logs(5)
    busy.reset(17)
    assert trace_current(busy) == expected


def trace_current(env):
    observation, reward, done, _ = env.step(None)
    out = [(observation and observation.get_views(), reward, done)]
    while not done:
        observation, reward, done, _ = env.step(2)
        out.append((observation and observation.get_views(), reward, done))
    return out


def test_logs_do_not_depend_on_how_users_are_split(make_env):
    whole = make_env(random_seed=21).simulate(40, num_organic_users=5)
    env = make_env(random_seed=21)
    parts = [env.simulate(5, num_organic_users=5), env.simulate(13, first_user=10), env.simulate(22, first_user=23)]
    for name in ("t", "u", "z", "v", "a", "c", "ps", "click_probability"):
        np.testing.assert_array_equal(getattr(whole, name), np.concatenate([getattr(p, name) for p in parts]))


@pytest.mark.parametrize("rng", ["default", "legacy"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
def test_logs_do_not_depend_on_chunk_size(make_env, monkeypatch, rng, chunk_rows):
    expected = make_env(random_seed=2, rng=rng).simulate(25, num_organic_users=3)
    monkeypatch.setattr(recogym.sim.simulate, "_CHUNK_ROWS", chunk_rows)
    got = make_env(random_seed=2, rng=rng).simulate(25, num_organic_users=3)
    for name in ("t", "u", "z", "v", "a", "c", "ps", "click_probability"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


def test_seed_contract_for_agents():
    first = recogym.agents.RandomAgent({"num_products": 10, "random_seed": 4})
    second = recogym.agents.RandomAgent({"num_products": 10, "random_seed": 4})
    assert [int(first.act(None, None, False)) for _ in range(50)] == \
        [int(second.act(None, None, False)) for _ in range(50)]


@pytest.mark.parametrize("slots", [1, 5, 32])
def test_lockstep_kernel_gives_the_sequential_rows(make_env, monkeypatch, slots):
    """Large catalogues step users in lockstep; after sorting by user the rows are the same."""
    import recogym.sim.simulate as simulate
    from recogym.policies import UserPopularity

    monkeypatch.setattr(simulate, "LOCKSTEP_SLOTS", slots)
    monkeypatch.setattr(simulate, "LOCKSTEP_MIN_GAMMA_BYTES", 1200 * 7 * 8)
    env = make_env(random_seed=4, num_products=1200, K=7)
    assert simulate.uses_lockstep(env.simulation)
    for policy in (None, UserPopularity(0.5)):
        lockstep = env.simulate(20, num_organic_users=4, first_user=9, policy=policy)
        sequential = simulate.simulate_logs(env.simulation.engine(1), 9, 20, 4, policy)
        for name in ("t", "u", "z", "v", "a", "c", "ps", "click_probability"):
            np.testing.assert_array_equal(getattr(lockstep, name), getattr(sequential, name))
