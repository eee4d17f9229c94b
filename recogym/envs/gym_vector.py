"""The native Gymnasium vector env: ``num_envs`` users stepped together, in
one call of the engine's stepping driver per step."""
from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .. import _core
from .._checks import USER_ID_LIMIT, check_actions, check_count, check_positive_int
from ..model import Simulation
from ..sim.slots import Slots
from .gym_env import USER_ID_DRAW_LIMIT, gymnasium_config, view_count_space

__all__ = ["RecoGymVectorEnv", "RecoGymVectorEnv0", "RecoGymVectorEnv1"]


class RecoGymVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`~recogym.envs.gym_env.RecoGymEnv` in one
    engine (subclassed per model).

    Every sub-env follows exactly the single env's semantics: given the same
    user id and actions, it yields the same observations, clicks and ends.

    Description
        Slot ``i`` holds one user at a time; ``step(actions)`` recommends
        ``actions[i]`` to each, in one call of the engine's batch kernel.
    Action Space
        ``MultiDiscrete([num_products] * num_envs)``.
    Observation Space
        ``Box(0, VIEW_COUNT_HIGH, (num_envs, num_products), float32)``: each
        user's view counts since the last step.
    Rewards
        ``(num_envs,)`` float64: 1.0 for a click, else 0.0.
    Starting State
        ``reset(seed=...)`` draws a first user id from ``np_random``; slots
        take consecutive ids from there, also when they autoreset. Users who
        leave during their first session are passed over.
    Episode End
        ``terminated[i]`` when the user in slot ``i`` leaves; ``truncated[i]``
        after ``max_episode_steps`` recommendations, if given.
        Autoreset is ``AutoresetMode.NEXT_STEP``, as in ``SyncVectorEnv``: the
        step after an episode ends ignores that slot's action and returns the
        next user's first observation with reward 0, not terminated.
    Info
        ``user_id`` (int64) and ``click_probability`` (float64, the true
        probability of the click, 0 for slots that autoreset), each with its
        ``_key`` mask as ``SyncVectorEnv`` builds them. The single env's
        ``views`` lists are not kept.
    Arguments
        ``num_envs``, ``max_episode_steps`` (None: no limit), and the env args
        as keyword arguments, as for the single env.
    Version History
        recogym 0.2.0: first release.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    model = ""

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = None,
                 render_mode: str | None = None, **env_args: Any) -> None:
        num_envs = check_positive_int("num_envs", num_envs)
        if max_episode_steps is not None and check_count("max_episode_steps", max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be at least 1 or None, got {max_episode_steps}")
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got render_mode={render_mode!r}")
        self.render_mode = None
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.config = gymnasium_config(self.model, env_args)
        self.num_products = P = self.config.num_products
        self._slots = Slots(Simulation.create(self.model, self.config), num_envs, count_views=True,
                            count_steps=True)

        self.single_action_space = spaces.Discrete(P)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = view_count_space(P)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

        self._all = self._slots.all_slots
        self._views = self._slots.view_counts      # views since the last step, zeroed before each
        self._steps = self._slots.steps
        self._observations = np.zeros((num_envs, P), dtype=np.float32)
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)
        self._next_user = 0
        self._started = False

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new users in every slot, or in the slots of
        ``options['reset_mask']`` (a ``(num_envs,)`` bool array); the other
        slots keep their users and last observations."""
        super().reset(seed=seed)
        slots = self._all
        if options is not None and "reset_mask" in options:
            if not self._started:
                raise RuntimeError("call reset() without a reset_mask first")
            mask = options["reset_mask"]
            if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,)):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            slots = self._all[mask]
        first_user = int(self.np_random.integers(USER_ID_DRAW_LIMIT))
        self._views.fill(0.0)
        self._next_user = self._slots.start(slots, first_user)
        observations = self._observations.copy()
        observations[slots] = self._views[slots]
        self._observations = observations
        self._autoreset[slots] = False
        self._started = True
        info = {"user_id": self._slots.user_ids.copy(), "_user_id": np.ones(self.num_envs, dtype=np.bool_)}
        return observations, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = check_actions("actions", actions, self.num_envs, self.num_products)
        playing = ~self._autoreset
        # Slots whose episode ended last step start the next user instead.
        commands = np.where(playing, actions, _core.NEW_USER_COMMAND)
        self._views.fill(0.0)
        self._next_user, clicks, click_probability = self._slots.step(self._all, commands, self._next_user,
                                                                      USER_ID_LIMIT, replace_leavers=True)
        clicks[~playing] = 0
        click_probability[~playing] = 0.0
        self._observations = observations = self._views.astype(np.float32)

        terminated = self._slots.markov_state == _core.STOP_STATE
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=np.bool_)
        else:
            truncated = self._steps >= self.max_episode_steps
        np.logical_or(terminated, truncated, out=self._autoreset)
        info = {
            "user_id": self._slots.user_ids.copy(),
            "_user_id": np.ones(self.num_envs, dtype=np.bool_),
            "click_probability": click_probability,
            "_click_probability": playing,
        }
        return observations, clicks.astype(np.float64), terminated, truncated, info


class RecoGymVectorEnv1(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGym-v1`` (latent factors); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.envs.gym_env.RecoGymEnv1`."""

    model = "reco-gym-v1"


class RecoGymVectorEnv0(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGym-v0`` (clusters); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.envs.gym_env.RecoGymEnv0`."""

    model = "reco-gym-v0"
