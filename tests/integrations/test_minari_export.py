"""Offline-RL datasets: Minari's DataCollector on the Gymnasium env, and
logs exported as the Gymnasium env's episodes (recogym.io.minari)."""
import gymnasium
import numpy as np
import pytest

from recogym.io.minari import episodes_of

ENV_ARGS = {"num_products": 8, "random_seed": 11}


@pytest.fixture
def logs(make_env):
    return make_env(**ENV_ARGS).simulate(60)


def test_each_user_of_the_logs_is_an_episode_of_the_gymnasium_env(logs):
    episodes = episodes_of(logs, 8)
    users_with_impressions = np.unique(logs.u[logs.impressions])
    assert len(episodes) == len(users_with_impressions) > 40
    env = gymnasium.make("recogym/RecoGym-v1", **ENV_ARGS)
    for episode in episodes:
        infos = episode["infos"]
        user = logs.take(logs.u == infos["user_id"][0])
        shown = user.impressions
        np.testing.assert_array_equal(episode["actions"], user.a[shown])
        np.testing.assert_array_equal(episode["rewards"], user.c[shown])
        np.testing.assert_array_equal(infos["click_probability"][1:], user.click_probability[shown])
        assert np.isnan(infos["propensity"][0]) and np.all(infos["propensity"][1:] == 1 / 8)  # uniform policy
        # Views between impressions, in the env's observations.
        step = np.cumsum(shown) - shown
        for t, observation in enumerate(episode["observations"]):
            np.testing.assert_array_equal(observation, np.bincount(user.v[user.organic & (step == t)],
                                                                   minlength=8))
        assert episode["terminations"][-1] and not episode["terminations"][:-1].any()
        assert not episode["truncations"].any()
        # Up to the first impression the logging policy has drawn nothing from
        # the user's stream, so the env meets the same user; after it, the
        # env's user draws on from another position.
        observation, _ = env.reset(options={"user_id": int(infos["user_id"][0])})
        np.testing.assert_array_equal(observation, episode["observations"][0])
        assert env.step(episode["actions"][0])[4]["click_probability"] == infos["click_probability"][1]


def test_episodes_check_their_input(logs):
    with pytest.raises(TypeError, match="logs must be recogym.Logs"):
        episodes_of(logs.to_pandas())
    with pytest.raises(ValueError, match=r"products must be in \[0, 4\)"):
        episodes_of(logs, 4)
    assert episodes_of(logs.take(logs.organic)) == []


def test_to_minari_writes_a_dataset_minari_loads(logs, tmp_path, monkeypatch):
    minari = pytest.importorskip("minari", reason="minari is not installed")
    pytest.importorskip("h5py", reason="Minari's datasets need minari[hdf5] (h5py)")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    from recogym.io.minari import to_minari

    dataset = to_minari(logs, "recogym/uniform-v0", 8, author="recogym tests")
    loaded = minari.load_dataset("recogym/uniform-v0")
    expected = episodes_of(logs, 8)
    assert loaded.total_episodes == len(expected) == dataset.total_episodes
    assert loaded.total_steps == int(logs.impressions.sum())
    for episode, want in zip(loaded.iterate_episodes(), expected):
        np.testing.assert_array_equal(episode.observations, want["observations"])
        np.testing.assert_array_equal(episode.actions, want["actions"])
        np.testing.assert_array_equal(episode.infos["propensity"], want["infos"]["propensity"])


def test_minari_data_collector_records_the_infos(tmp_path, monkeypatch):
    minari = pytest.importorskip("minari", reason="minari is not installed")
    pytest.importorskip("jax", reason="Minari's DataCollector needs minari[create] (jax)")
    pytest.importorskip("h5py", reason="Minari's datasets need minari[hdf5] (h5py)")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = minari.DataCollector(gymnasium.make("recogym/RecoGym-v1", **ENV_ARGS), record_infos=True)
    clicks = 0.0
    for seed in range(5):
        env.reset(seed=seed)
        terminated = False
        while not terminated:
            _, reward, terminated, _, _ = env.step(env.action_space.sample())
            clicks += reward
    dataset = env.create_dataset("recogym/collected-v0", algorithm_name="random")
    episodes = list(minari.load_dataset("recogym/collected-v0").iterate_episodes())
    assert dataset.total_episodes == len(episodes) == 5
    for episode in episodes:
        assert set(episode.infos) == {"user_id", "click_probability"}
        assert len(episode.infos["user_id"]) == len(episode.actions) + 1
        assert np.isnan(episode.infos["click_probability"][0])
        assert np.all(episode.infos["user_id"] == episode.infos["user_id"][0])
    assert sum(episode.rewards.sum() for episode in episodes) == clicks
