"""The Gymnasium envs: API conformance (check_env), ids, rendering, the info
schema, seeding, and equality with the classic env's users. The native
vector env's autoreset modes are in test_gym_vector_modes.py."""
import copy
import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, VectorEnv

import recogym
from recogym.gym_env import GYMNASIUM_ALIASES, GYMNASIUM_IDS, CumulativeViewCounts, RecoGymEnv, register_envs
from recogym.gym_vector import RecoGymVectorEnv

register_envs()

IDS = list(GYMNASIUM_IDS)


def make(env_id, **env_args):
    """gymnasium.make, with warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return gymnasium.make(env_id, **env_args)


def make_vec(env_id, num_envs, **env_args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                                  **env_args)


def rollout(env, seed, actions, options=None):
    """Every return value of reset and of steps with ``actions`` until the user leaves."""
    observation, info = env.reset(seed=seed, options=options)
    trace = [(observation, info)]
    for action in actions:
        trace.append(env.step(action))
        if trace[-1][2]:
            break
    return trace


def assert_same_trace(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)
            else:
                assert x == y


# -- registration and the single env ------------------------------------------


def test_register_envs_is_idempotent():
    before = {env_id: gymnasium.spec(env_id) for env_id in IDS + list(GYMNASIUM_ALIASES)}
    register_envs()
    for env_id in before:
        spec = gymnasium.spec(env_id)
        assert spec is before[env_id]
        assert spec.entry_point.startswith("recogym.envs.gym_env:")
        assert spec.vector_entry_point.startswith("recogym.envs.gym_vector:")


@pytest.mark.parametrize("order", ["import recogym, gymnasium", "import gymnasium, recogym",
                                   "import recogym, importlib.util; importlib.util.find_spec('gymnasium'); "
                                   "import gymnasium",
                                   "import recogym; from gymnasium.envs import registration as gymnasium"])
def test_ids_are_registered_whichever_is_imported_first(order):
    # recogym registers without importing gymnasium: at once if gymnasium is
    # there, else after gymnasium's own import, which keeps its own loader.
    code = (f"{order}; import sys; ids = [i for i in gymnasium.registry if i.startswith('recogym/')]; "
            "print(sorted(ids)); g = sys.modules['gymnasium']; "
            "print(type(g.__loader__).__name__, type(g.__spec__.loader).__name__, "
            "[type(f).__name__ for f in sys.meta_path])")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ids, loaders = completed.stdout.splitlines()
    assert ids == repr(sorted([*IDS, *GYMNASIUM_ALIASES]))
    assert "RegisterAfter" not in loaders and "AfterGymnasium" not in loaders


@pytest.mark.parametrize("render_mode", [None, "ansi"])
@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes_without_warnings(env_id, render_mode):
    env = make(env_id, num_products=12, random_seed=3, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert isinstance(env.unwrapped, RecoGymEnv)
    assert env.unwrapped.model == GYMNASIUM_IDS[env_id]


def test_the_old_cluster_id_is_an_alias_gymnasium_calls_out_of_date():
    # Gymnasium reads RecoGym-v0 as an old RecoGym-v1: the reason for RecoGymClusters-v0.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gymnasium.make("recogym/RecoGym-v0", num_products=12)
    assert [type(w.message) for w in caught] == [DeprecationWarning]
    assert "out of date" in str(caught[0].message)
    assert GYMNASIUM_ALIASES["recogym/RecoGym-v0"] == "recogym/RecoGymClusters-v0"
    clusters = make("recogym/RecoGymClusters-v0", num_products=12)
    assert type(env.unwrapped) is type(clusters.unwrapped)
    actions = np.arange(300) % 12
    assert_same_trace(rollout(env, 4, actions), rollout(clusters, 4, actions))


def test_the_module_prefix_form_of_the_id_imports_recogym_first(tmp_path):
    import subprocess
    import sys
    code = ("import sys, gymnasium; env = gymnasium.make('recogym:recogym/RecoGym-v1'); "
            "env.reset(seed=0); assert 'recogym' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_ansi_rendering_gives_one_line_per_step():
    env = make("recogym/RecoGym-v1", render_mode="ansi", num_products=10)
    _, info = env.reset(seed=3)
    line = env.render()
    assert line.startswith(f"user {info['user_id']} | views [") and line.endswith("| action - | click - | p(click) -")
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(4)
        line = env.render()
        assert "\n" not in line
        assert f"| action 4 | click {int(reward)} | p(click) {info['click_probability']:.4f}" in line
    assert line.endswith("| left")


def test_render_without_a_mode_warns_and_returns_none():
    env = make("recogym/RecoGym-v1")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


@pytest.mark.parametrize("env_id", IDS)
def test_the_info_keys_and_types_are_the_same_at_reset_and_at_each_step(env_id):
    env = make(env_id, num_products=12)
    _, info = env.reset(seed=1)
    assert set(info) == {"user_id", "click_probability"} and np.isnan(info["click_probability"])
    types = {key: type(value) for key, value in info.items()}
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(0)
        assert {key: type(value) for key, value in info.items()} == types
        assert 0 < info["click_probability"] < 1


def test_record_views_adds_the_view_lists():
    env = make("recogym/RecoGym-v1", record_views=True)
    observation, info = env.reset(seed=1)
    assert set(info) == {"user_id", "click_probability", "views"}
    np.testing.assert_array_equal(observation, np.bincount(info["views"], minlength=10))
    with pytest.raises(TypeError, match="record_views"):
        make("recogym/RecoGym-v1", record_views="yes")


@pytest.mark.parametrize("env_id", IDS)
def test_spaces_follow_the_env_args(env_id):
    env = make(env_id, num_products=20, num_clusters=4)
    assert env.action_space == gymnasium.spaces.Discrete(20)
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Box) and space.shape == (20,) and space.dtype == np.float32
    assert np.all(space.low == 0) and np.all(np.isfinite(space.high))


def test_env_args_are_validated():
    with pytest.raises(ValueError, match="num_products"):
        make("recogym/RecoGym-v1", num_products=0)
    with pytest.raises(ValueError, match="legacy"):
        make("recogym/RecoGym-v1", rng="legacy")
    with pytest.raises(ValueError, match="prob_organic_to_bandit"):
        make("recogym/RecoGym-v1", prob_organic_to_bandit=0.0)
    # A TypeError, which SB3 recovers from (see tests/integrations/test_sb3_vec_env.py).
    with pytest.raises(TypeError, match="render_mode must be None or one of \\['ansi'\\], got 'human'"):
        recogym.gym_env.RecoGymEnv1(render_mode="human")
    with pytest.warns(UserWarning, match="num_product"):
        gymnasium.make("recogym/RecoGym-v1", num_product=5)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_with_a_seed_replays_the_episode(env_id):
    env = make(env_id)
    actions = np.random.Generator(np.random.PCG64(1)).integers(10, size=5000)
    first = rollout(env, 17, actions)
    rollout(env, 18, actions)
    second = rollout(env, 17, actions)
    assert_same_trace(first, second)
    assert len(first) > 2 and first[-1][2] is True
    other = rollout(env, 18, actions)
    assert other[0][1]["user_id"] != first[0][1]["user_id"]


def test_unseeded_resets_draw_new_users():
    env = make("recogym/RecoGym-v1")
    env.reset(seed=5)
    users = {env.reset()[1]["user_id"] for _ in range(20)}
    assert len(users) == 20


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_a_user_behaves_as_in_the_classic_env(make_env, model):
    env_id = {v: k for k, v in GYMNASIUM_IDS.items()}[model]
    env = make(env_id, random_seed=4, num_products=15, num_clusters=3, record_views=True)
    classic = make_env(model, random_seed=4, num_products=15, num_clusters=3)
    actions = np.random.Generator(np.random.PCG64(2)).integers(15, size=5000)
    steps = 0
    for seed in range(10):
        observation, info = env.reset(seed=seed)
        classic.reset(info["user_id"])
        session, _, done, _ = classic.step(None)
        assert info["views"] == session.get_views() and not done
        np.testing.assert_array_equal(observation, np.bincount(info["views"], minlength=15))
        for action in actions:
            p = classic.click_probability(int(action))
            observation, reward, terminated, truncated, info = env.step(action)
            session, click, done, _ = classic.step(int(action))
            assert (info["views"], reward, terminated, truncated) == (
                session.get_views() if session else [], click, done, False)
            assert info["click_probability"] == p
            steps += 1
            if terminated:
                break
    assert steps > 100


def test_reset_options_choose_the_user():
    env = make("recogym/RecoGym-v1")
    _, info = env.reset(seed=3)
    actions = np.zeros(1000, dtype=np.int64)
    by_seed = rollout(env, 3, actions)
    by_id = rollout(env, 99, actions, options={"user_id": info["user_id"]})
    assert_same_trace(by_seed, by_id)
    with pytest.raises(ValueError, match="user_id"):
        env.reset(options={"user_id": -1})
    with pytest.raises(TypeError, match="user_id"):
        env.reset(options={"user_id": 1.5})


def test_users_who_leave_before_a_recommendation_are_passed_over():
    # Most users leave during their first session here: reset moves on to
    # the next id until a user stays, as the batch env does.
    env = make("recogym/RecoGym-v1", prob_leave_organic=0.6, prob_organic_to_bandit=0.1, record_views=True)
    skipped = 0
    for user in range(0, 200, 10):
        _, info = env.reset(options={"user_id": user})
        assert info["user_id"] >= user and info["views"]
        skipped += info["user_id"] > user
    assert skipped > 5


def test_step_checks_the_episode_and_the_action():
    env = make("recogym/RecoGym-v1").unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="num_products"):
        env.step(10)
    with pytest.raises(TypeError, match="integer"):
        env.step(1.0)
    env.step(np.array(2))
    terminated = False
    while not terminated:
        terminated = env.step(np.int64(1))[2]
    with pytest.raises(RuntimeError, match="left"):
        env.step(0)


def test_a_copied_env_continues_the_same_user():
    env = make("recogym/RecoGym-v1").unwrapped
    env.reset(seed=2)
    env.step(1)
    twin = copy.deepcopy(env)
    actions = np.arange(200) % 10
    assert_same_trace(rollout_steps(env, actions), rollout_steps(twin, actions))


def rollout_steps(env, actions):
    trace = []
    for action in actions:
        trace.append(env.step(action))
        if trace[-1][2]:
            break
    return trace


def test_cumulative_view_counts_add_up_the_user_views():
    base = make("recogym/RecoGym-v1", num_products=8)
    env = CumulativeViewCounts(make("recogym/RecoGym-v1", num_products=8))
    for seed in (0, 1):
        observation, _ = base.reset(seed=seed)
        counts, info = env.reset(seed=seed)
        total = observation.astype(np.float64)
        np.testing.assert_array_equal(counts, total)
        terminated = False
        while not terminated:
            observation, _, terminated, _, _ = base.step(3)
            counts, _, _, _, _ = env.step(3)
            total += observation
            assert counts.dtype == np.float32 and counts in env.observation_space
            np.testing.assert_array_equal(counts, total)
    assert total.sum() > 10


# -- the native vector env -----------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_gives_the_native_vector_env(env_id):
    envs = make_vec(env_id, 64, num_products=12)
    assert isinstance(envs, VectorEnv) and isinstance(envs, RecoGymVectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    single = make(env_id, num_products=12)
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    assert envs.observation_space == gymnasium.vector.utils.batch_space(single.observation_space, 64)
    assert envs.action_space == gymnasium.spaces.MultiDiscrete(np.full(64, 12))
    observations, info = envs.reset(seed=0)
    assert observations.dtype == np.float32 and observations in envs.observation_space
    assert info["user_id"].dtype == np.int64 and info["_user_id"].all()
    assert np.isnan(info["click_probability"]).all() and not info["_click_probability"].any()
    envs.action_space.seed(0)
    observations, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert observations.shape == (64, 12) and observations in envs.observation_space
    assert rewards.dtype == np.float64 and rewards.shape == (64,)
    assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_ and terminated.shape == (64,)
    assert set(info) == {"user_id", "_user_id", "click_probability", "_click_probability"}


def trajectory(envs, seed, steps, actions_seed=0):
    generator = np.random.Generator(np.random.PCG64(actions_seed))
    out = [envs.reset(seed=seed)]
    for _ in range(steps):
        out.append(envs.step(generator.integers(envs.single_action_space.n, size=envs.num_envs)))
    return out


def test_vector_env_is_deterministic_given_the_seed():
    envs = make_vec("recogym/RecoGym-v1", 32)
    first = trajectory(envs, 7, 200)
    trajectory(envs, 8, 10)
    second = trajectory(envs, 7, 200)
    for a, b in zip(first, second):
        for x, y in zip(a[:-1], b[:-1]):
            np.testing.assert_array_equal(x, y)
        for key in a[-1]:
            np.testing.assert_array_equal(a[-1][key], b[-1][key])
    other = trajectory(envs, 8, 1)
    assert not np.array_equal(other[0][1]["user_id"], first[0][1]["user_id"])


def test_next_step_autoreset():
    envs = make_vec("recogym/RecoGym-v1", 64, prob_leave_bandit=0.2)
    twin = make_vec("recogym/RecoGym-v1", 64, prob_leave_bandit=0.2)
    envs.reset(seed=1)
    twin.reset(seed=1)
    generator = np.random.Generator(np.random.PCG64(5))
    done = np.zeros(64, dtype=bool)
    users = envs.reset(seed=1)[1]["user_id"]
    autoresets = 0
    for _ in range(60):
        actions = generator.integers(10, size=64)
        other = actions.copy()
        other[done] = (other[done] + 1) % 10     # ignored on autoreset
        observations, rewards, terminated, truncated, info = envs.step(actions)
        twin_step = twin.step(other)
        for x, y in zip((observations, rewards, terminated, truncated), twin_step):
            np.testing.assert_array_equal(x, y)
        # A slot done at the last step starts its next user now, with no reward.
        assert np.all(rewards[done] == 0) and not terminated[done].any() and not truncated[done].any()
        assert np.all(info["_click_probability"] == ~done) and np.isnan(info["click_probability"][done]).all()
        assert np.all(info["user_id"][done] != users[done])
        assert np.all(info["user_id"][~done] == users[~done])
        assert np.all(observations[done].sum(axis=1) >= 1)  # a first session has a view
        autoresets += done.sum()
        users, done = info["user_id"], terminated | truncated
    assert autoresets > 50
    assert len(np.unique(users)) == 64


def test_vector_users_behave_as_in_the_single_env():
    envs = make_vec("recogym/RecoGymClusters-v0", 16, num_products=12, num_clusters=3, prob_leave_bandit=0.05)
    single = make("recogym/RecoGymClusters-v0", num_products=12, num_clusters=3, prob_leave_bandit=0.05)
    generator = np.random.Generator(np.random.PCG64(3))
    observations, info = envs.reset(seed=4)
    episodes = [[info["user_id"][i], observations[i], []] for i in range(16)]
    open_episode = list(range(16))
    done = np.zeros(16, dtype=bool)
    for _ in range(150):
        actions = generator.integers(12, size=16)
        observations, rewards, terminated, truncated, info = envs.step(actions)
        for i in range(16):
            if done[i]:
                open_episode[i] = len(episodes)
                episodes.append([info["user_id"][i], observations[i], []])
            else:
                episodes[open_episode[i]][2].append(
                    (actions[i], observations[i], rewards[i], terminated[i], info["click_probability"][i]))
        done = terminated | truncated
    assert len(episodes) > 60
    for user_id, first, transitions in episodes:
        observation, info = single.reset(options={"user_id": int(user_id)})
        assert info["user_id"] == user_id
        np.testing.assert_array_equal(observation, first)
        for action, expected, reward, terminated, p in transitions:
            observation, single_reward, single_terminated, _, single_info = single.step(action)
            np.testing.assert_array_equal(observation, expected)
            assert (single_reward, single_terminated, single_info["click_probability"]) == (reward, terminated, p)


def test_truncation_after_max_episode_steps():
    # Users who (almost) never leave and never browse: only the step limit ends them.
    envs = make_vec("recogym/RecoGym-v1", 8, max_episode_steps=3, prob_leave_bandit=1e-6,
                    prob_bandit_to_organic=0.0)
    envs.reset(seed=0)
    truncations = [envs.step(np.zeros(8, dtype=np.int64))[3] for _ in range(8)]
    # Steps 3 and 7 end every episode; step 4 starts the next users.
    assert [t.all() for t in truncations] == [False, False, True, False, False, False, True, False]
    assert not any(t.any() for i, t in enumerate(truncations) if i not in (2, 6))


def test_partial_reset_keeps_the_other_slots():
    envs = make_vec("recogym/RecoGym-v1", 8)
    _, first = envs.reset(seed=0)
    observations, *_ = envs.step(np.zeros(8, dtype=np.int64))
    mask = np.zeros(8, dtype=bool)
    mask[[1, 5]] = True
    after, info = envs.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(after[~mask], observations[~mask])
    assert np.all(info["user_id"][~mask] == first["user_id"][~mask])
    assert np.all(info["user_id"][mask] != first["user_id"][mask])
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": np.ones(3, dtype=bool)})


def test_vector_step_checks_actions():
    envs = make_vec("recogym/RecoGym-v1", 4)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(np.zeros(4, dtype=np.int64))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="num_products"):
        envs.step(np.full(4, 10))
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match="integer"):
        envs.step(np.zeros(4))


def test_clicks_follow_the_true_click_probability():
    # Seed contract: passes for any seed; the margin is 6 standard deviations.
    envs = make_vec("recogym/RecoGym-v1", 512, num_products=5)
    envs.reset(seed=11)
    clicks = probability = variance = 0.0
    for _ in range(200):
        _, rewards, _, _, info = envs.step(np.zeros(512, dtype=np.int64))
        p = info["click_probability"][info["_click_probability"]]
        clicks += rewards.sum()
        probability += p.sum()
        variance += (p * (1 - p)).sum()
    assert abs(clicks - probability) < 6 * np.sqrt(variance)
    assert clicks > 500
