"""The native vector env's autoreset modes, and VectorCumulativeViewCounts
in each: every mode meets the same users, who click the same."""
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from recogym.gym_env import register_envs
from recogym.gym_vector import RecoGymVectorEnv1, VectorCumulativeViewCounts

register_envs()

MODES = list(AutoresetMode)
ENV_ARGS = {"num_products": 6, "prob_leave_bandit": 0.1}


def make_vec(num_envs, mode, **env_args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return gymnasium.make_vec("recogym/RecoGym-v1", num_envs=num_envs, vectorization_mode="vector_entry_point",
                                  autoreset_mode=mode, **{**ENV_ARGS, **env_args})


class Episode:
    def __init__(self, user_id, observation):
        self.user_id = int(user_id)
        self.observations = [observation.copy()]
        self.rewards = []
        self.click_probabilities = []

    def action(self, num_products):
        # A fixed policy of the user and the step, the same in every mode.
        return (self.user_id + 3 * len(self.rewards)) % num_products

    def key(self):
        return self.user_id, np.array(self.observations).tolist(), self.rewards, self.click_probabilities


def episodes_of(envs, mode, steps, seed=5, keep_current=False):
    """Each slot's completed episodes (and the current one, with
    ``keep_current``), read back according to ``mode``."""
    observations, info = envs.reset(seed=seed)
    P = envs.single_action_space.n
    current = [Episode(info["user_id"][i], observations[i]) for i in range(envs.num_envs)]
    done = [[] for _ in range(envs.num_envs)]
    ended = np.zeros(envs.num_envs, dtype=bool)
    for _ in range(steps):
        actions = np.array([episode.action(P) for episode in current])
        observations, rewards, terminated, truncated, info = envs.step(actions)
        for i in range(envs.num_envs):
            if mode == AutoresetMode.NEXT_STEP and ended[i]:
                assert rewards[i] == 0 and not info["_click_probability"][i]
                current[i] = Episode(info["user_id"][i], observations[i])
                continue
            episode = current[i]
            episode.rewards.append(float(rewards[i]))
            if mode == AutoresetMode.SAME_STEP and "_final_obs" in info and info["_final_obs"][i]:
                final = info["final_info"]
                assert final["_user_id"][i] and final["user_id"][i] == episode.user_id
                episode.observations.append(info["final_obs"][i])
                episode.click_probabilities.append(float(final["click_probability"][i]))
                assert np.isnan(info["click_probability"][i]) and not info["_click_probability"][i]
                done[i].append(episode)
                current[i] = Episode(info["user_id"][i], observations[i])
                continue
            assert info["user_id"][i] == episode.user_id
            episode.observations.append(observations[i].copy())
            episode.click_probabilities.append(float(info["click_probability"][i]))
        ended = terminated | truncated
        for i in np.flatnonzero(ended):
            if mode != AutoresetMode.SAME_STEP:
                done[i].append(current[i])
        if mode == AutoresetMode.DISABLED and ended.any():
            observations, info = envs.reset(options={"reset_mask": ended})
            for i in np.flatnonzero(ended):
                current[i] = Episode(info["user_id"][i], observations[i])
    if keep_current:
        for i, episode in enumerate(current):
            done[i].append(episode)
    return done


def test_the_mode_is_an_argument_declared_in_the_metadata():
    for mode in MODES:
        assert make_vec(2, mode).metadata["autoreset_mode"] is mode
        assert RecoGymVectorEnv1(2, autoreset_mode=mode.value).metadata["autoreset_mode"] is mode
    assert RecoGymVectorEnv1.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    with pytest.raises(ValueError, match="autoreset_mode must be one of"):
        RecoGymVectorEnv1(2, autoreset_mode="same_step")


def test_every_mode_meets_the_same_users_with_the_same_clicks():
    # Users take consecutive ids as they arrive. NEXT_STEP spends a step on
    # each arrival, so a user may land in another slot than in the other
    # modes, but the users met are the same, and so is each one's episode.
    episodes = {mode: episodes_of(make_vec(8, mode), mode, 300, keep_current=True) for mode in MODES}
    by_user = {mode: {episode.user_id: episode for slot in slots for episode in slot}
               for mode, slots in episodes.items()}
    met = {mode: sorted(users) for mode, users in by_user.items()}
    shortest = min(len(users) for users in met.values())
    assert shortest > 100
    assert met[MODES[0]][:shortest] == met[MODES[1]][:shortest] == met[MODES[2]][:shortest]
    compared = clicks = 0
    for user_id in met[MODES[0]][:shortest]:
        first, *others = (by_user[mode][user_id] for mode in MODES)
        finished = min(len(episode.rewards) for episode in (first, *others))
        for other in others:
            assert other.key()[1][:finished + 1] == first.key()[1][:finished + 1]
            assert other.rewards[:finished] == first.rewards[:finished]
            assert other.click_probabilities[:finished] == first.click_probabilities[:finished]
        compared += finished
        clicks += sum(first.rewards[:finished])
    assert compared > 1000 and clicks > 5


def test_same_step_gives_the_final_observation_and_info():
    envs = make_vec(16, AutoresetMode.SAME_STEP, prob_leave_bandit=0.3)
    _, info = envs.reset(seed=0)
    users = info["user_id"]
    for _ in range(20):
        observations, rewards, terminated, truncated, info = envs.step(np.zeros(16, dtype=np.int64))
        ended = terminated | truncated
        if not ended.any():
            assert "final_obs" not in info
            continue
        np.testing.assert_array_equal(info["_final_obs"], ended)
        np.testing.assert_array_equal(info["_final_info"], ended)
        final = info["final_info"]
        assert set(final) == {"user_id", "_user_id", "click_probability", "_click_probability"}
        np.testing.assert_array_equal(final["user_id"][ended], users[ended])
        assert not np.isnan(final["click_probability"][ended]).any()
        assert all(info["final_obs"][i] is None for i in np.flatnonzero(~ended))
        assert all(info["final_obs"][i].dtype == np.float32 for i in np.flatnonzero(ended))
        assert np.all(info["user_id"][ended] != users[ended])
        assert np.all(observations[ended].sum(axis=1) >= 1)   # the new users' first sessions
        users = info["user_id"]


def test_disabled_waits_for_a_masked_reset():
    envs = make_vec(8, AutoresetMode.DISABLED, prob_leave_bandit=0.5)
    envs.reset(seed=0)
    ended = np.zeros(8, dtype=bool)
    while not ended.any():
        _, _, terminated, truncated, info = envs.step(np.zeros(8, dtype=np.int64))
        ended = terminated | truncated
    users = info["user_id"]
    with pytest.raises(RuntimeError, match=r"slots \[.*\] have ended; start new users with reset"):
        envs.step(np.zeros(8, dtype=np.int64))
    observations, info = envs.reset(options={"reset_mask": ended})
    assert np.all(info["user_id"][ended] != users[ended]) and np.all(info["user_id"][~ended] == users[~ended])
    # Without a seed a masked reset gives the next ids; with one, it draws them anew.
    assert np.all(info["user_id"][ended] > users.max() - 100)
    envs.step(np.zeros(8, dtype=np.int64))
    again = make_vec(8, AutoresetMode.DISABLED, prob_leave_bandit=0.5)
    again.reset(seed=0)
    _, seeded = again.reset(seed=9, options={"reset_mask": ended})
    assert np.all(seeded["user_id"][ended] != info["user_id"][ended])


@pytest.mark.parametrize("mode", MODES)
def test_cumulative_view_counts_start_again_with_each_user(mode):
    reference = episodes_of(make_vec(8, mode), mode, 200)
    wrapped = episodes_of(VectorCumulativeViewCounts(make_vec(8, mode)), mode, 200)
    compared = 0
    for slot in range(8):
        for per_step, cumulative in zip(reference[slot], wrapped[slot]):
            assert cumulative.user_id == per_step.user_id and cumulative.rewards == per_step.rewards
            np.testing.assert_array_equal(np.array(cumulative.observations),
                                          np.cumsum(per_step.observations, axis=0))
            compared += 1
    assert compared > 40


def test_cumulative_view_counts_over_the_sync_vector_env():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sync = gymnasium.make_vec("recogym/RecoGym-v1", num_envs=4, vectorization_mode="sync",
                                  **ENV_ARGS)
    envs = VectorCumulativeViewCounts(sync)
    counts, _ = envs.reset(seed=0)
    totals = counts.astype(np.float64)
    ended = np.zeros(4, dtype=bool)
    for _ in range(100):
        counts, _, terminated, truncated, _ = envs.step(np.zeros(4, dtype=np.int64))
        assert counts.dtype == np.float32
        assert np.all(counts[~ended] >= totals[~ended])
        totals, ended = counts.astype(np.float64), terminated | truncated
    with pytest.raises(TypeError, match="view counts"):
        VectorCumulativeViewCounts(gymnasium.make_vec("CartPole-v1", num_envs=2))
