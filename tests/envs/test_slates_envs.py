"""Slates through every front end: the classic env against the numpy
reference bit for bit, and BatchEnv, the Gymnasium env and the vector env
against the classic env; the validation of slate args and actions."""
import numpy as np
import pytest

import recogym
from recogym._reference import reference_slate_steps
from recogym.envs.batch import BatchEnv

gymnasium = pytest.importorskip("gymnasium", reason="the Gymnasium front ends need gymnasium")

SLATE_ARGS = [
    {"slate_size": 3},
    {"slate_size": 4, "click_model": "cascade", "cascade_continuation": 0.8},
    {"slate_size": 2, "examination": [0.7, 0.3], "time_generator": "normal"},
]


def slates_for(user, steps, num_products, k):
    """A fixed sequence of distinct-product slates per user, from its own generator."""
    generator = np.random.Generator(np.random.PCG64(user))
    return [generator.choice(num_products, k, replace=False).tolist() for _ in range(steps)]


def classic_run(env, user, slates):
    env.reset(user)
    observation, _, done, _ = env.step(None)
    steps = [(observation.get_views(), 0, [], [])]
    for slate in slates:
        if done:
            break
        observation, reward, done, info = env.step(slate)
        clicks = info["slate_clicks"].tolist()
        assert reward == sum(clicks)
        steps.append((observation.get_views(), int(any(clicks)), clicks, info["slate_click_probability"].tolist()))
    return steps


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
@pytest.mark.parametrize("args", SLATE_ARGS, ids=str)
def test_classic_env_matches_reference(make_env, config_of, model, args):
    env = make_env(model, num_products=12, random_seed=6, **args)
    k = args["slate_size"]
    clicks = 0
    for user in range(8):
        slates = slates_for(user, 60, 12, k)
        steps = classic_run(env, user, slates)
        assert steps == reference_slate_steps(model, config_of(model, num_products=12, random_seed=6, **args),
                                              user, slates)
        clicks += sum(step[1] for step in steps)
    assert clicks > 0


def test_batch_env_matches_classic_env(make_env):
    args = {"num_products": 12, "random_seed": 3, "slate_size": 3, "click_model": "cascade"}
    env = make_env(**args)
    batch = BatchEnv(env, num_envs=5)
    batch.start(12)
    step_of = np.zeros(12, dtype=np.int64)
    per_user: dict[int, list[list[int]]] = {user: [] for user in range(12)}
    plans = {user: slates_for(user, 400, 12, 3) for user in range(12)}
    slots = batch.active_slots()
    while slots.size:
        users = batch.observe(slots).user_ids
        slates = np.array([plans[int(u)][step_of[u]] for u in users])
        clicks, probabilities = batch.recommend(slots, slates)
        assert clicks.shape == probabilities.shape == (len(slots), 3)
        assert batch.last_slate_outcomes is not None
        np.testing.assert_array_equal(batch.last_slate_outcomes.clicked, clicks.max(axis=1))
        for u, row, p in zip(users.tolist(), clicks.tolist(), probabilities.tolist()):
            per_user[u].append((row, p))
            step_of[u] += 1
        slots = batch.active_slots()
    for user in range(12):
        steps = classic_run(make_env(**args), user, plans[user])
        assert [(clicks, p) for _, _, clicks, p in steps[1:]] == per_user[user]


def test_gymnasium_env_matches_classic_env(make_env):
    args = {"num_products": 10, "random_seed": 8, "slate_size": 3, "position_decay": 0.5}
    env = gymnasium.make("recogym/RecoGym-v1", **args).unwrapped
    assert isinstance(env.action_space, gymnasium.spaces.MultiDiscrete)
    assert env.action_space.shape == (3,)
    for user in (0, 4, 9):
        _, info = env.reset(options={"user_id": user})
        assert np.isnan(info["slate_click_probability"]).all()
        start = env.unwrapped._user_id
        slates = slates_for(start, 300, 10, 3)
        expected = classic_run(make_env(**args), start, slates)[1:]
        got = []
        for slate in slates:
            _, reward, terminated, _, info = env.step(np.array(slate))
            got.append((info["slate_clicks"].tolist(), info["slate_click_probability"].tolist()))
            assert reward == info["slate_clicks"].sum()
            if terminated:
                break
        assert got == [(clicks, p) for _, _, clicks, p in expected]


def test_gymnasium_slate_env_passes_check_env():
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("recogym/RecoGym-v1", num_products=6, slate_size=4, click_model="cascade")
    check_env(env.unwrapped)
    space = env.action_space
    samples = [space.sample() for _ in range(200)]
    assert all(len(set(sample.tolist())) == 4 and space.contains(sample) for sample in samples)
    assert not space.contains(np.array([1, 1, 2, 3]))


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_vector_env_matches_single_env(mode):
    args = {"num_products": 10, "random_seed": 2, "slate_size": 3, "click_model": "cascade"}
    vector = gymnasium.make_vec("recogym/RecoGym-v1", 3, vectorization_mode="vector_entry_point",
                                autoreset_mode=mode, **args)
    assert vector.action_space.shape == (3, 3)
    _, info = vector.reset(seed=5)
    single = gymnasium.make("recogym/RecoGym-v1", **args).unwrapped
    users = info["user_id"].tolist()
    rewards = {user: [] for user in users}
    actions = vector.action_space.sample()
    ended = np.zeros(3, dtype=bool)
    for _ in range(200):
        actions = np.array([slates_for(int(u), 1, 10, 3)[0] for u in info["user_id"]])
        before = info["user_id"].copy()
        _, reward, terminated, truncated, info = vector.step(actions)
        for slot in range(3):
            if mode == "NextStep" and ended[slot]:
                continue
            rewards.setdefault(int(before[slot]), []).append((actions[slot].tolist(), reward[slot]))
        ended = terminated | truncated
    for user, shown in list(rewards.items())[:3]:
        single.reset(options={"user_id": user})
        for slate, reward in shown:
            _, single_reward, *_ = single.step(np.array(slate))
            assert single_reward == reward


def test_slate_size_one_steps_unchanged(make_env):
    plain, one = make_env(random_seed=1), make_env(random_seed=1, slate_size=1)
    for env in (plain, one):
        env.reset(3)
        env.step(None)
    for action in [1, 2, 3, 4, 5] * 20:
        a, b = plain.step(action), one.step(action)
        assert a[1:] == b[1:] and a[0] == b[0]
        if a[2]:
            break
    assert plain.action_space == one.action_space


def test_step_offline_logs_uniform_slates(make_env):
    env = make_env(num_products=8, random_seed=4, slate_size=3)
    env.reset(0)
    action, *_ = env.step_offline()
    assert action is None
    action, _, reward, _, info = env.step_offline()
    assert len(set(action)) == 3 and action["a"].shape == (3,)
    assert action.ps == pytest.approx(1 / (8 * 7 * 6))
    assert reward == info["slate_clicks"].sum()


def test_generate_logs_with_a_slate_agent(make_env):
    from recogym.session import SlateAction

    class TopThree:
        def reset(self):
            pass

        def act(self, observation, reward, done):
            return SlateAction([0, 1, 2], 1.0)

    env = make_env(num_products=8, random_seed=4, slate_size=3)
    frame = env.generate_logs(5, agent=TopThree())
    bandit = frame[frame["z"] == "bandit"]
    assert len(bandit) > 10
    assert all(list(slate) == [0, 1, 2] for slate in bandit["slate_a"])


# -- validation -----------------------------------------------------------------

@pytest.mark.parametrize("args,match", [
    ({"slate_size": 0}, "slate_size"),
    ({"slate_size": 11}, r"slate_size.*\[1, num_products = 10\]"),
    ({"slate_size": 2.0}, "slate_size"),
    ({"slate_size": 2, "rng": "legacy"}, "rng='legacy'"),
    ({"slate_size": 2, "click_model": "dbn"}, r"click_model.*\('pbm', 'cascade'\)"),
    ({"slate_size": 2, "examination": [1.0]}, "examination.*slate_size = 2"),
    ({"slate_size": 2, "examination": [1.0, 1.5]}, "examination"),
    ({"slate_size": 2, "examination": "ab"}, "examination"),
    ({"slate_size": 1, "examination": [1.0]}, "slates only"),
    ({"slate_size": 2, "position_decay": 0.0}, "position_decay"),
    ({"slate_size": 2, "position_decay": 1.5}, "position_decay"),
    ({"slate_size": 2, "position_decay": 0.5, "examination": [1, 0.5]}, "give one of them"),
    ({"slate_size": 2, "cascade_continuation": 0.5}, "cascade_continuation.*'cascade' only"),
    ({"slate_size": 2, "click_model": "cascade", "examination": [1, 1]}, "position-based"),
    ({"slate_size": 2, "click_model": "cascade", "cascade_continuation": -0.1}, "cascade_continuation"),
])
def test_bad_slate_args_are_refused(args, match):
    env = recogym.make("reco-gym-v1")
    with pytest.raises((ValueError, TypeError), match=match):
        env.init_gym(args)


@pytest.mark.parametrize("action,match", [
    ([1, 1, 2], "distinct"),
    ([1, 2], r"slate_size = 3"),
    ([1, 2, 10], r"\[0, 10\)"),
    (3, "slate_size = 3"),
    ([0.5, 1, 2], "slate_size = 3"),
])
def test_bad_slates_are_refused(make_env, action, match):
    env = make_env(slate_size=3)
    env.reset(0)
    env.step(None)
    with pytest.raises((ValueError, TypeError), match=match):
        env.step(action)
    gym_env = gymnasium.make("recogym/RecoGym-v1", slate_size=3).unwrapped
    gym_env.reset(seed=0)
    with pytest.raises((ValueError, TypeError), match=match):
        gym_env.step(np.asarray(action))


def test_batch_env_refuses_repeated_products(make_env):
    batch = BatchEnv(make_env(slate_size=2), num_envs=2)
    batch.start(2)
    slots = batch.active_slots()
    with pytest.raises(ValueError, match="distinct.*row"):
        batch.recommend(slots, np.array([[0, 1], [3, 3]])[:len(slots)] if len(slots) == 2 else [[3, 3]])


def test_slate_policies_are_checked(make_env):
    from recogym.policies import UserPopularity, UserPopularityRanking

    with pytest.raises(ValueError, match="UserPopularityRanking"):
        make_env(slate_size=2).simulate(2, policy=UserPopularity())
    with pytest.raises(ValueError, match="slate_size > 1"):
        make_env().simulate(2, policy=UserPopularityRanking())
    with pytest.raises(ValueError, match="explore"):
        UserPopularityRanking(1.5)


@pytest.mark.parametrize("args", SLATE_ARGS, ids=str)
def test_step_offline_logs_are_the_log_drivers(make_env, args):
    """The classic env's uniform slates, stepped one by one (the stepping
    driver), log what the log driver writes for the same users, bit for bit."""
    logs = make_env(num_products=10, random_seed=3, **args).simulate(15)
    stepped, _ = make_env(num_products=10, random_seed=3, **args)._agent_logs(None, 15, 0)
    assert stepped.slate is not None
    for name in logs.column_names:
        np.testing.assert_array_equal(getattr(stepped, name), getattr(logs, name), err_msg=name)
