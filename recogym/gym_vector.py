"""The native Gymnasium vector env: ``num_envs`` users stepped together by
the engine's batch kernels (``begin_users`` / ``recommend_batch``)."""
from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _core
from .gym_env import USER_ID_DRAW_LIMIT, gymnasium_config, view_count_space
from .model import build_engine, build_static
from .params import check_count

__all__ = ["RecoGymVectorEnv", "RecoGymVectorEnv0", "RecoGymVectorEnv1"]

_NO_USER_LIMIT = 2**63 - 1


class RecoGymVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`~recogym.gym_env.RecoGymEnv` in one
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
        num_envs = check_count("num_envs", num_envs)
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if max_episode_steps is not None and check_count("max_episode_steps", max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be at least 1 or None, got {max_episode_steps}")
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got render_mode={render_mode!r}")
        self.render_mode = None
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.config = gymnasium_config(self.model, env_args)
        self.num_products = P = self.config.num_products
        self._engine = build_engine(self.model, self.config, build_static(self.model, self.config),
                                    num_slots=num_envs)
        self._state = self._engine.state

        self.single_action_space = spaces.Discrete(P)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = view_count_space(P)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

        self._slots = np.arange(num_envs, dtype=np.int64)
        self._views = np.zeros((num_envs, P))      # views since the last step, filled by the kernels
        self._steps = np.zeros(num_envs, dtype=np.int64)
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
        slots = self._slots
        if options is not None and "reset_mask" in options:
            if not self._started:
                raise RuntimeError("call reset() without a reset_mask first")
            mask = options["reset_mask"]
            if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,)):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            slots = self._slots[mask]
        self._next_user = int(self.np_random.integers(USER_ID_DRAW_LIMIT))
        self._begin(slots)
        observations = self._observations.copy()
        observations[slots] = self._views[slots]
        self._observations = observations
        self._autoreset[slots] = False
        self._started = True
        info = {"user_id": self._state["user_id"].copy(), "_user_id": np.ones(self.num_envs, dtype=np.bool_)}
        return observations, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        playing = ~self._autoreset
        restarting = self._slots[self._autoreset]
        clicks = np.zeros(self.num_envs, dtype=np.int8)
        click_probability = np.zeros(self.num_envs)
        self._views.fill(0.0)
        if restarting.size == 0:
            self._engine.recommend_batch(self._slots, actions, clicks, click_probability, self._views, self._steps)
        else:
            slots = self._slots[playing]
            if slots.size:
                played_clicks = np.empty(slots.size, dtype=np.int8)
                played_probability = np.empty(slots.size)
                self._engine.recommend_batch(slots, actions[slots], played_clicks, played_probability,
                                             self._views, self._steps)
                clicks[slots], click_probability[slots] = played_clicks, played_probability
            self._begin(restarting)
        self._observations = observations = self._views.astype(np.float32)

        terminated = self._state["markov_state"] == _core.STOP_STATE
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=np.bool_)
        else:
            truncated = self._steps >= self.max_episode_steps
        np.logical_or(terminated, truncated, out=self._autoreset)
        info = {
            "user_id": self._state["user_id"].copy(),
            "_user_id": np.ones(self.num_envs, dtype=np.bool_),
            "click_probability": click_probability,
            "_click_probability": playing,
        }
        return observations, clicks.astype(np.float64), terminated, truncated, info

    def _begin(self, slots: np.ndarray) -> None:
        next_user = self._engine.begin_users(slots, self._next_user, _NO_USER_LIMIT, self._views, self._steps)
        self._next_user = int(next_user)

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be an integer array of shape ({self.num_envs},) (num_envs), got "
                             f"{actions.dtype} of shape {actions.shape}")
        if actions.min() < 0 or actions.max() >= self.num_products:
            raise ValueError(f"actions must be in [0, {self.num_products}) (num_products)")
        return np.ascontiguousarray(actions, dtype=np.int64)


class RecoGymVectorEnv1(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGym-v1`` (latent factors); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.gym_env.RecoGymEnv1`."""

    model = "reco-gym-v1"


class RecoGymVectorEnv0(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGym-v0`` (clusters); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.gym_env.RecoGymEnv0`."""

    model = "reco-gym-v0"
