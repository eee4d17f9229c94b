"""A Stable-Baselines3 ``VecEnv`` over the native engine.

SB3 takes its own ``VecEnv`` only, not ``gymnasium.vector.VectorEnv``, so
without this class users fall back to ``DummyVecEnv`` of single envs, which
steps one Python env at a time. :class:`RecoGymVecEnv` hands SB3 the
native vector env (:mod:`recogym.envs.gym_vector`) in its ``SAME_STEP``
autoreset mode, which is SB3's own convention, with the ended user's last
observation as ``infos[i]['terminal_observation']``.

Needs ``pip install stable-baselines3`` (the ``[sb3]`` extra).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from .._checks import check_choice
from ..envs.gym_env import GYMNASIUM_ALIASES, GYMNASIUM_IDS
from ..envs.gym_vector import RecoGymVectorEnv, VectorCumulativeViewCounts

__all__ = ["RecoGymVecEnv"]


class RecoGymVecEnv(VecEnv):
    """``num_envs`` RecoGym users for Stable-Baselines3, stepped by the engine together.

    Parameters
    ----------
    num_envs : int
        Users stepped together. The engine's cost per user is small, so
        hundreds are cheap; PPO's ``n_steps`` counts steps per user.
    env_id : str
        ``'recogym/RecoGym-v1'`` (latent factors) or
        ``'recogym/RecoGymClusters-v0'`` (clusters).
    cumulative : bool
        Observe each user's view counts since they arrived
        (:class:`~recogym.envs.gym_vector.VectorCumulativeViewCounts`), the
        observation :class:`~recogym.agents.PolicyAgent` gives a trained
        model; else the views since the last step.
    max_episode_steps : int, optional
        Truncate users after this many recommendations
        (``infos[i]['TimeLimit.truncated']``).
    **env_args
        The env args, as for ``gymnasium.make``.

    Notes
    -----
    Seeding is SB3's: ``seed(s)`` (which ``PPO(..., seed=s)`` calls) takes
    effect at the next ``reset``, which draws the first user from ``s``; the
    next users take consecutive ids. The sub-envs are slots of one engine:
    ``get_attr``, ``set_attr`` and ``env_method`` reach the native vector env
    itself, once, and ``env_method`` hands its one result to every index.
    The infos carry only what SB3 reads (``terminal_observation`` and
    ``TimeLimit.truncated`` when a user ends); wrap the env in SB3's
    ``VecMonitor`` for episode returns.

    Examples
    --------
    >>> from stable_baselines3 import PPO  # doctest: +SKIP
    >>> model = PPO('MlpPolicy', RecoGymVecEnv(256, num_products=10), n_steps=16).learn(100_000)  # doctest: +SKIP
    """

    def __init__(self, num_envs: int = 8, env_id: str = "recogym/RecoGym-v1", cumulative: bool = True,
                 max_episode_steps: int | None = None, **env_args: Any) -> None:
        check_choice("env_id", env_id, [*GYMNASIUM_IDS, *GYMNASIUM_ALIASES])
        native = gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                                    autoreset_mode=AutoresetMode.SAME_STEP, max_episode_steps=max_episode_steps,
                                    **env_args)
        assert isinstance(native, RecoGymVectorEnv)
        self.native = native
        self.envs: gymnasium.vector.VectorEnv = VectorCumulativeViewCounts(native) if cumulative else native
        self.cumulative = cumulative
        self._actions = np.zeros(num_envs, dtype=np.int64)
        super().__init__(num_envs, native.single_observation_space, native.single_action_space)

    def reset(self) -> VecEnvObs:
        observations, _ = self.envs.reset(seed=self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        return np.asarray(observations)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, terminated, truncated, info = self.envs.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for slot in np.flatnonzero(dones):
            infos[slot] = {"terminal_observation": info["final_obs"][slot],
                           "TimeLimit.truncated": bool(truncated[slot] and not terminated[slot])}
        return observations, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.envs.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.native, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._indices(indices)
        setattr(self.native, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        slots = self._indices(indices)
        result = getattr(self.native, method_name)(*method_args, **method_kwargs)
        return [result for _ in slots]

    def env_is_wrapped(self, wrapper_class: type[gymnasium.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        # The slots are no gymnasium.Env, so no gymnasium.Wrapper wraps them.
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        slots: Iterable[int] = self._get_indices(indices)
        checked = list(slots)
        for slot in checked:
            if not 0 <= slot < self.num_envs:
                raise IndexError(f"indices must be in [0, {self.num_envs}), got {slot}")
        return checked
