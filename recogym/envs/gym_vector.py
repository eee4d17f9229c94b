"""The native Gymnasium vector env: ``num_envs`` users stepped together, in
one call of the engine's stepping driver per step, with Gymnasium's three
autoreset modes; and :class:`VectorCumulativeViewCounts`, its running view
counts."""
from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .. import _core
from .._checks import USER_ID_LIMIT, check_actions, check_choice, check_count, check_positive_int
from .._checks import check_slates
from ..model import Simulation
from ..sim.slots import Slots
from ..params import slate_size_of
from .gym_env import USER_ID_DRAW_LIMIT, SlateSpace, gymnasium_config, view_count_space

__all__ = ["RecoGymVectorEnv", "RecoGymVectorEnv0", "RecoGymVectorEnv1", "VectorCumulativeViewCounts",
           "check_autoreset_mode"]


def check_autoreset_mode(autoreset_mode: Any) -> AutoresetMode:
    """``autoreset_mode``, an ``AutoresetMode`` or its value (``'NextStep'``,
    ``'SameStep'``, ``'Disabled'``)."""
    if isinstance(autoreset_mode, AutoresetMode):
        return autoreset_mode
    return AutoresetMode(check_choice("autoreset_mode", autoreset_mode, [mode.value for mode in AutoresetMode]))


class RecoGymVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`~recogym.envs.gym_env.RecoGymEnv` in one
    engine (subclassed per model).

    Every sub-env follows exactly the single env's semantics: given the same
    user id and actions, it yields the same observations, clicks and ends.

    Description
        Slot ``i`` holds one user at a time; ``step(actions)`` recommends
        ``actions[i]`` to each, in one call of the engine's batch kernel.
    Action Space
        ``MultiDiscrete([num_products] * num_envs)``. With env arg
        ``slate_size`` k > 1, :class:`~recogym.envs.gym_env.SlateSpace` of
        shape ``(num_envs, k)``: a ranking of k distinct products per slot;
        rewards are then the clicks per slate, and ``info`` adds
        ``slate_clicks`` and ``slate_click_probability`` ``(num_envs, k)``.
    Observation Space
        ``Box(0, VIEW_COUNT_HIGH, (num_envs, num_products), float32)``: each
        user's view counts since the last step (:class:`VectorCumulativeViewCounts`
        for the running totals).
    Rewards
        ``(num_envs,)`` float64: 1.0 for a click, else 0.0.
    Starting State
        ``reset(seed=...)`` draws a first user id from ``np_random``; slots
        take consecutive ids from there, also when they autoreset or are
        reset by a ``reset_mask``. Users who leave during their first session
        are passed over. So with the same seed and the same actions, every
        autoreset mode meets the same users, who click the same.
    Episode End
        ``terminated[i]`` when the user in slot ``i`` leaves; ``truncated[i]``
        after ``max_episode_steps`` recommendations, if given. What follows
        is ``autoreset_mode`` (also in ``metadata['autoreset_mode']``):

        - ``NEXT_STEP`` (the default, as in ``SyncVectorEnv``): the step after
          an episode ends ignores that slot's action and returns the next
          user's first observation, with reward 0, not terminated.
        - ``SAME_STEP``: the step that ends an episode already returns the
          next user's first observation and info; the ended user's are in
          ``info['final_obs']`` (an object array, None for other slots) and
          ``info['final_info']``, with masks ``_final_obs`` and ``_final_info``,
          as Gymnasium 1.x documents. TorchRL asks for this mode.
        - ``DISABLED``: slots stay ended until ``reset(options={'reset_mask':
          mask})`` starts new users in them; stepping an ended slot raises a
          RuntimeError.
    Info
        ``user_id`` (int64) and ``click_probability`` (float64, the true
        probability of the click; NaN where no recommendation was shown: at
        reset and at a NEXT_STEP autoreset), each with its ``_key`` mask as
        ``SyncVectorEnv`` builds them, at reset and at every step.
        With ``with_conversions=True`` also ``conversion`` (int8: 1 if the
        click converted) and ``conversion_probability`` (float64: the true
        probability that a click on the action converts), 0 and NaN where
        nothing was shown, with the same masks as ``click_probability``.
    Arguments
        ``num_envs``, ``max_episode_steps`` (None: no limit),
        ``autoreset_mode`` (an ``AutoresetMode`` or its value), and the env
        args as keyword arguments, as for the single env, e.g.
        ``gymnasium.make_vec('recogym/RecoGym-v1', 8, vectorization_mode='vector_entry_point',
        autoreset_mode=AutoresetMode.SAME_STEP)``.
    Version History
        recogym 0.2.0: first release. 0.3.0: ``autoreset_mode``; NaN click
        probabilities where nothing was shown, and the same info keys at reset.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    model = ""

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None, **env_args: Any) -> None:
        num_envs = check_positive_int("num_envs", num_envs)
        if max_episode_steps is not None and check_count("max_episode_steps", max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be at least 1 or None, got {max_episode_steps}")
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got render_mode={render_mode!r}")
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = None
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.config = gymnasium_config(self.model, env_args)
        self.num_products = P = self.config.num_products
        self._slots = Slots(Simulation.create(self.model, self.config), num_envs, count_views=True,
                            count_steps=True)

        #: Products per step (env arg ``slate_size``).
        self.slate_size = k = slate_size_of(self.config)
        self.single_action_space: spaces.Space[Any]
        if k > 1:
            self.single_action_space = SlateSpace(P, k)
            self.action_space = SlateSpace(P, k, num_envs)
        else:
            self.single_action_space = spaces.Discrete(P)
            self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = view_count_space(P)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

        self._all = self._slots.all_slots
        self._views = self._slots.view_counts      # views since the last step, zeroed before each
        self._steps = self._slots.steps
        self._observations = np.zeros((num_envs, P), dtype=np.float32)
        self._ended = np.zeros(num_envs, dtype=np.bool_)   # episodes that ended at the last step
        self._next_user = 0
        self._started = False

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new users in every slot, or in the slots of
        ``options['reset_mask']`` (a ``(num_envs,)`` bool array); the other
        slots keep their users and last observations. A reset of every slot,
        or one with a seed, draws the first user id from ``np_random``; a
        masked reset without a seed gives the next ids, as an autoreset does."""
        super().reset(seed=seed)
        slots = self._all
        draw = True
        if options is not None and "reset_mask" in options:
            if not self._started:
                raise RuntimeError("call reset() without a reset_mask first")
            mask = options["reset_mask"]
            if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,)):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            slots = self._all[mask]
            draw = seed is not None
        if draw:
            self._next_user = int(self.np_random.integers(USER_ID_DRAW_LIMIT))
        self._views.fill(0.0)
        self._next_user = self._slots.start(slots, self._next_user)
        observations = self._observations.copy()
        observations[slots] = self._views[slots]
        self._observations = observations
        self._ended[slots] = False
        self._started = True
        return observations, self._info(np.full(self.num_envs, np.nan), np.zeros(self.num_envs, dtype=np.bool_))

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self.slate_size > 1:
            return self._step_slates(actions)
        actions = check_actions("actions", actions, self.num_envs, self.num_products)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            playing = ~self._ended
            # Slots whose episode ended last step start the next user instead.
            commands = np.where(playing, actions, _core.NEW_USER_COMMAND)
        else:
            if self._ended.any():
                raise RuntimeError(f"the episodes of slots {np.flatnonzero(self._ended).tolist()} have ended; "
                                   "start new users with reset(options={'reset_mask': mask})")
            playing = np.ones(self.num_envs, dtype=np.bool_)
            commands = actions
        self._views.fill(0.0)
        self._next_user, clicks, click_probability = self._slots.step(self._all, commands, self._next_user,
                                                                      USER_ID_LIMIT, replace_leavers=True)
        clicks[~playing] = 0
        click_probability[~playing] = np.nan
        conversions = None
        if self._slots.conversions:
            conversions = self._slots.last_conversions(self.num_envs)
            conversions[0][~playing] = 0
            conversions[1][~playing] = np.nan
        observations = self._views.astype(np.float32)
        terminated, truncated = self._episode_ends()
        info = self._info(click_probability, playing, conversions)
        if self.autoreset_mode == AutoresetMode.SAME_STEP and self._ended.any():
            observations, info = self._start_next_users(observations, info)
        self._observations = observations
        return observations, clicks.astype(np.float64), terminated, truncated, info

    def _episode_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Which users left (terminated) and which hit ``max_episode_steps``
        (truncated) at this step; either ends the episode (``_ended``)."""
        terminated = self._slots.markov_state == _core.STOP_STATE
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=np.bool_)
        else:
            truncated = self._steps >= self.max_episode_steps
        np.logical_or(terminated, truncated, out=self._ended)
        return terminated, truncated

    def _step_slates(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """:meth:`step` with slates: ``actions`` (num_envs, k), one ranking per
        slot (ignored for a slot that autoresets at this step)."""
        k = self.slate_size
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            playing = ~self._ended
        else:
            if self._ended.any():
                raise RuntimeError(f"the episodes of slots {np.flatnonzero(self._ended).tolist()} have ended; "
                                   "start new users with reset(options={'reset_mask': mask})")
            playing = np.ones(self.num_envs, dtype=np.bool_)
        array = np.asarray(actions)
        if array.shape == (self.num_envs, k) and not playing.all():
            array = array.copy()
            array[~playing] = np.arange(k)     # the actions of autoresetting slots are ignored
        slates = check_slates("actions", array, self.num_envs, k, self.num_products)
        self._views.fill(0.0)
        ended = self._all[~playing]
        if ended.size:
            self._next_user = self._slots.start(ended, self._next_user)
        outcome = self._slots.recommend_slates(self._all[playing], slates[playing])
        clicks = np.zeros((self.num_envs, k), dtype=np.int8)
        position_probability = np.full((self.num_envs, k), np.nan)
        click_probability = np.full(self.num_envs, np.nan)
        clicks[playing] = outcome.clicks
        position_probability[playing] = outcome.position_click_probability
        click_probability[playing] = outcome.click_probability
        observations = self._views.astype(np.float32)
        terminated, truncated = self._episode_ends()
        info = self._info(click_probability, playing)
        info.update(slate_clicks=clicks, _slate_clicks=playing.copy(), slate_click_probability=position_probability,
                    _slate_click_probability=playing.copy())
        if self.autoreset_mode == AutoresetMode.SAME_STEP and self._ended.any():
            observations, info = self._start_next_users(observations, info)
        self._observations = observations
        return observations, clicks.sum(axis=1).astype(np.float64), terminated, truncated, info

    def _start_next_users(self, observations: np.ndarray,
                          info: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """SAME_STEP: the ended slots start their next users now; the ended
        users' observations and infos move to ``final_obs`` and ``final_info``."""
        ended = self._ended.copy()
        slots = self._all[ended]
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_obs[slots] = list(observations[slots])
        self._views.fill(0.0)
        self._next_user = self._slots.start(slots, self._next_user)
        observations[slots] = self._views[slots]
        self._ended.fill(False)
        final_info = {key: value.copy() for key, value in info.items()}
        final_info["_user_id"] = ended.copy()
        final_info["_click_probability"] = ended & info["_click_probability"]
        click_probability = info["click_probability"].copy()
        click_probability[slots] = np.nan
        shown = info["_click_probability"] & ~ended
        conversions = None
        if self._slots.conversions:
            for key in ("_conversion", "_conversion_probability"):
                final_info[key] = ended & info[key]
            conversions = (info["conversion"].copy(), info["conversion_probability"].copy())
            conversions[0][slots] = 0
            conversions[1][slots] = np.nan
        if self.slate_size > 1:
            for key in ("slate_clicks", "slate_click_probability"):
                final_info[f"_{key}"] = ended & info[f"_{key}"]
            slate_clicks, slate_probability = info["slate_clicks"].copy(), info["slate_click_probability"].copy()
            slate_clicks[slots], slate_probability[slots] = 0, np.nan
        info = self._info(click_probability, shown, conversions)
        if self.slate_size > 1:
            info.update(slate_clicks=slate_clicks, _slate_clicks=shown.copy(),
                        slate_click_probability=slate_probability, _slate_click_probability=shown.copy())
        info.update(final_obs=final_obs, _final_obs=ended, final_info=final_info, _final_info=ended.copy())
        return observations, info

    def _info(self, click_probability: np.ndarray, shown: np.ndarray,
              conversions: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
        info = {
            "user_id": self._slots.user_ids.copy(),
            "_user_id": np.ones(self.num_envs, dtype=np.bool_),
            "click_probability": click_probability,
            "_click_probability": shown,
        }
        if self._slots.conversions:
            if conversions is None:
                conversions = (np.zeros(self.num_envs, dtype=np.int8), np.full(self.num_envs, np.nan))
            info.update(conversion=conversions[0], _conversion=shown.copy(),
                        conversion_probability=conversions[1], _conversion_probability=shown.copy())
        if self.slate_size > 1:
            # Per position; replaced by the step's own where slates were shown.
            none = np.zeros(self.num_envs, dtype=np.bool_)
            info.update(slate_clicks=np.zeros((self.num_envs, self.slate_size), dtype=np.int8), _slate_clicks=none,
                        slate_click_probability=np.full((self.num_envs, self.slate_size), np.nan),
                        _slate_click_probability=none.copy())
        return info


class RecoGymVectorEnv1(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGym-v1`` (latent factors); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.envs.gym_env.RecoGymEnv1`."""

    model = "reco-gym-v1"


class RecoGymVectorEnv0(RecoGymVectorEnv):
    """The native vector env of ``recogym/RecoGymClusters-v0`` (clusters); see
    :class:`RecoGymVectorEnv` and :class:`~recogym.envs.gym_env.RecoGymEnv0`."""

    model = "reco-gym-v0"


class VectorCumulativeViewCounts(gymnasium.vector.VectorWrapper):
    """Observe each user's view counts since they arrived, in every autoreset mode.

    The vector form of :class:`~recogym.envs.gym_env.CumulativeViewCounts`:
    a slot's running counts start again from its new user's first
    observation wherever that user arrives. That is the step after the end
    (``NEXT_STEP``), the same step, whose ``final_obs`` then holds the ended
    user's totals (``SAME_STEP``), or a masked ``reset`` (``DISABLED``). Any
    vector env of view counts that declares ``metadata['autoreset_mode']``
    will do: the native env, or ``SyncVectorEnv`` of the single env.

    Examples
    --------
    >>> envs = VectorCumulativeViewCounts(gymnasium.make_vec(
    ...     'recogym/RecoGym-v1', 8, vectorization_mode='vector_entry_point'))
    >>> counts, info = envs.reset(seed=0)
    """

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        space = env.single_observation_space
        if not (isinstance(space, spaces.Box) and len(space.shape) == 1 and np.all(space.low == 0)):
            raise TypeError(f"the observations must be Boxes of view counts, from 0, got {space}")
        shape = space.shape
        self.autoreset_mode = check_autoreset_mode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        self._counts = np.zeros((env.num_envs, shape[0]), dtype=np.float64)
        self._ended = np.zeros(env.num_envs, dtype=np.bool_)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        observations, info = self.env.reset(seed=seed, options=options)
        if options is not None and "reset_mask" in options:
            mask = options["reset_mask"]
            self._counts[mask] = observations[mask]
            self._ended[mask] = False
        else:
            self._counts[:] = observations
            self._ended.fill(False)
        return self._counts.astype(np.float32), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        observations, rewards, terminated, truncated, info = self.env.step(actions)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._counts[self._ended] = 0.0
        self._counts += observations
        if self.autoreset_mode == AutoresetMode.SAME_STEP and "final_obs" in info:
            ended = info["_final_obs"]
            # _counts holds the ended users' totals plus the new users' first views.
            final_obs = info["final_obs"].copy()
            for slot in np.flatnonzero(ended):
                final_obs[slot] = (self._counts[slot] - observations[slot] + final_obs[slot]).astype(np.float32)
                self._counts[slot] = observations[slot]
            info = {**info, "final_obs": final_obs}
        self._ended = terminated | truncated
        return self._counts.astype(np.float32), rewards, terminated, truncated, info
