"""Gymnasium front end: one user per episode, one recommendation per step.

``gymnasium.make('recogym/RecoGym-v1', num_products=100)`` builds a
:class:`RecoGymEnv1`; ``gymnasium.make_vec`` builds the native vector env of
:mod:`recogym.envs.gym_vector`. Both step through the same driver as the
classic env (:class:`~recogym.sim.slots.Slots`).
"""
from __future__ import annotations

import math
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from .. import _core
from .._checks import MAX_USER_ID, check_action, check_flag, check_slate, check_user_id
from ..model import Simulation
from ..params import Configuration, resolve_env_args, slate_size_of
from ..sim.slots import Slots
from .registration import GYMNASIUM_ALIASES, GYMNASIUM_IDS, register_envs

__all__ = [
    "RENDER_MODES",
    "RecoGymEnv",
    "RecoGymEnv0",
    "RecoGymEnv1",
    "CumulativeViewCounts",
    "register_envs",
    "GYMNASIUM_IDS",
    "GYMNASIUM_ALIASES",
    "VIEW_COUNT_HIGH",
    "check_render_mode",
    "SlateSpace",
]

#: The render modes of the Gymnasium envs: ``'ansi'``, one text line per step.
RENDER_MODES = ("ansi",)

#: Upper bound of the view-count boxes: finite, so ``check_env`` does not warn,
#: and never reached (a user would have to view a product 3.4e38 times).
VIEW_COUNT_HIGH = float(np.finfo(np.float32).max)

#: Users drawn at reset have ids below this; ids count up from there when a
#: user leaves before their first recommendation, far below 2**63.
USER_ID_DRAW_LIMIT = 2**62


def gymnasium_config(model: str, env_args: dict[str, Any]) -> Configuration:
    """The env args of a Gymnasium env, validated: the classic env's, in the
    default random-number mode, with users who can reach a recommendation."""
    config = resolve_env_args(model, env_args)
    if config.rng != "default":
        raise ValueError(
            "the Gymnasium envs take rng='default' only: each user draws from its own stream keyed by "
            "(random_seed, user_id), which is what makes reset(seed=...) reproducible. rng='legacy' "
            "replays RecoGym 0.1.3.0's single shared stream; use the classic env (recogym.make) for it"
        )
    if config.get("agent") is not None:
        raise ValueError("env arg 'agent' is the classic env's logging policy; the Gymnasium envs take "
                         "their actions from step()")
    if config.prob_organic_to_bandit == 0.0:
        raise ValueError("env arg 'prob_organic_to_bandit' must be above 0 for a Gymnasium env: its "
                         "episodes start at a user's first recommendation")
    return config


def view_count_space(num_products: int) -> spaces.Box:
    """Counts of organic views per product, as float32."""
    return spaces.Box(0.0, VIEW_COUNT_HIGH, (num_products,), np.float32)


def check_render_mode(render_mode: Any) -> str | None:
    """``render_mode``, None or one of :data:`RENDER_MODES`.

    Raises
    ------
    TypeError
        For any other mode. A TypeError, not a ValueError, because that is
        what Stable-Baselines3 recovers from: ``make_vec_env`` and
        ``PPO('MlpPolicy', env_id)`` first ask for ``'rgb_array'`` and, on a
        TypeError, make the env again without a render mode.
    """
    if render_mode is None or render_mode in RENDER_MODES:
        return str(render_mode) if render_mode is not None else None
    raise TypeError(f"render_mode must be None or one of {list(RENDER_MODES)}, got {render_mode!r}")


class SlateSpace(spaces.MultiDiscrete):
    """The action space of slates: ``MultiDiscrete([num_products] * slate_size)``
    (or of shape ``(batch, slate_size)`` for a vector env) whose elements
    are rankings, distinct products along the last axis.

    It is a ``MultiDiscrete``, so libraries that take one (Stable-Baselines3)
    do; :meth:`sample` draws distinct products (uniformly among rankings) and
    :meth:`contains` requires them. An env refuses a slate that repeats a
    product with a ValueError.
    """

    def __init__(self, num_products: int, slate_size: int, batch: int | None = None,
                 seed: int | np.random.Generator | None = None) -> None:
        shape = (slate_size,) if batch is None else (batch, slate_size)
        super().__init__(np.full(shape, num_products), dtype=np.int64, seed=seed)
        self.num_products = num_products
        self.slate_size = slate_size

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        """Rankings drawn uniformly (masks and probabilities are not supported)."""
        if mask is not None or probability is not None:
            raise NotImplementedError("SlateSpace.sample draws uniform rankings; masks and probabilities "
                                      "are not supported")
        rows = int(np.prod(self.shape[:-1], dtype=np.int64))
        drawn = [self.np_random.choice(self.num_products, self.slate_size, replace=False) for _ in range(rows)]
        return np.array(drawn, dtype=self.dtype).reshape(self.shape)

    def contains(self, x: Any) -> bool:
        if not super().contains(x):
            return False
        ordered = np.sort(np.asarray(x), axis=-1)
        return not bool((ordered[..., 1:] == ordered[..., :-1]).any())

    def __repr__(self) -> str:
        return f"SlateSpace(num_products={self.num_products}, slate_size={self.slate_size}, shape={self.shape})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SlateSpace) and other.shape == self.shape
                and other.num_products == self.num_products)

    def __hash__(self) -> int:
        return hash((SlateSpace, self.shape, self.num_products))


def check_reset_user(options: dict[str, Any] | None) -> int | None:
    """The ``user_id`` of reset's options, checked, or None."""
    if options is None or options.get("user_id") is None:
        return None
    return check_user_id("options['user_id']", options["user_id"])


class RecoGymEnv(gymnasium.Env[np.ndarray, np.int64]):
    """A RecoGym user as a Gymnasium episode (subclassed per model).

    Description
        Each episode is one simulated user. The user browses products
        (organic views), and between sessions waits for a recommendation;
        each step shows them one product, which they click or not. The user
        model is RecoGym's: :class:`RecoGymEnv1` (latent factors) or
        :class:`RecoGymEnv0` (clusters).
    Action Space
        ``Discrete(num_products)``: the product to recommend. With env arg
        ``slate_size`` k > 1, :class:`SlateSpace`, a
        ``MultiDiscrete([num_products] * k)``: a ranking of k products, top
        first, which must be distinct (a repeat raises a ValueError).
    Observation Space
        ``Box(0, VIEW_COUNT_HIGH, (num_products,), float32)``: how many times
        the user viewed each product since the last step (at reset: during
        their first session). The counts may all be 0 when the user went
        straight on to the next recommendation. :class:`CumulativeViewCounts`
        turns them into the user's running totals.
    Rewards
        1.0 if the user clicks the recommended product, else 0.0; for a
        slate, its number of clicks (per the env arg ``click_model``).
    Starting State
        A new user, at their first recommendation. The user id is drawn from
        ``np_random`` (or given as ``options={'user_id': id}``); a user who
        leaves during their first session is passed over for the next id,
        as the batch env does.
    Episode End
        ``terminated`` when the user leaves. Episodes are never truncated
        here; pass ``max_episode_steps`` to ``gymnasium.make`` for a limit.
    Info
        The same keys at reset and at every step, with values of fixed size,
        so that TorchRL and Minari can store them: ``user_id`` (int) and
        ``click_probability`` (float), the true probability that the user
        would click the action (known to the simulator only; NaN at reset).
        With ``record_views=True``, also ``views``: the products viewed since
        the last step, in order (a list whose length varies). With
        ``with_conversions=True``, also ``conversion`` (int: 1 if the click
        converted, else 0; 0 at reset) and ``conversion_probability``
        (float: the true probability that a click on the action converts;
        NaN at reset). With slates, ``click_probability`` is that of any
        click, and ``slate_clicks`` (int8, k) and ``slate_click_probability``
        (float64, k, NaN at reset) are per position.
    Rendering
        ``render_mode='ansi'``: ``render()`` returns one text line for the
        last step, ``user 7 | views [3, 3, 1] | action 2 | click 0 |
        p(click) 0.0213``. Other modes raise a TypeError (see
        :func:`check_render_mode`).
    Arguments
        The env args of ``recogym.env_1_args`` / ``env_0_args`` as keyword
        arguments, e.g. ``gymnasium.make('recogym/RecoGym-v1', num_products=100,
        random_seed=7)``. ``random_seed`` fixes the model (the products'
        parameters) and, with the user id, each user's draws; ``reset(seed=...)``
        only chooses users. ``rng='legacy'`` is refused: its single shared
        stream is the classic env's (``recogym.make``). ``render_mode`` and
        ``record_views`` as above.
    Version History
        The id's version names the RecoGym model, as reco-gym-v0/v1 do.
        recogym 0.2.0: first release. 0.3.0: the info keys are fixed
        (``views`` behind ``record_views``); ``render_mode='ansi'``; the
        cluster model is ``recogym/RecoGymClusters-v0``.
    """

    # render_fps only because Gymnasium's checker asks for it: text has no frame rate.
    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES), "render_fps": 1}
    model = ""

    def __init__(self, render_mode: str | None = None, record_views: bool = False, **env_args: Any) -> None:
        self.render_mode = check_render_mode(render_mode)
        self.record_views = check_flag("record_views", record_views)
        self.config = gymnasium_config(self.model, env_args)
        self.num_products = self.config.num_products
        self._slots = Slots(Simulation.create(self.model, self.config), 1, record_views=True)
        #: Products per step (env arg ``slate_size``).
        self.slate_size = slate_size_of(self.config)
        self.action_space: spaces.Space[Any] = (SlateSpace(self.num_products, self.slate_size)
                                                if self.slate_size > 1 else spaces.Discrete(self.num_products))
        self.observation_space = view_count_space(self.num_products)
        self._user_id: int | None = None
        self._terminated = True
        self._last_line: str | None = None

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        user_id = check_reset_user(options)
        if user_id is None:
            user_id = int(self.np_random.integers(USER_ID_DRAW_LIMIT))
        self._slots.start_one(0, user_id, replace_leavers=True)
        if self._slots.markov_state[0] == _core.EMPTY_SLOT:
            raise ValueError(f"every user from {user_id} to {MAX_USER_ID}, the last id, left before a "
                             "recommendation")
        self._user_id = int(self._slots.user_ids[0])
        self._terminated = False
        views = self._views()
        self._last_line = f"user {self._user_id} | views {views} | action - | click - | p(click) -"
        info = self._info(views, math.nan, (0, math.nan))
        if self.slate_size > 1:
            info.update(slate_clicks=np.zeros(self.slate_size, dtype=np.int8),
                        slate_click_probability=np.full(self.slate_size, np.nan))
        return self._view_counts(views), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._terminated:
            raise RuntimeError("call reset() before step(): " + (
                "the user has left" if self._user_id is not None else "no user yet"))
        if self.slate_size > 1:
            return self._step_slate(action)
        action = check_action(action, self.num_products)
        click, click_probability, self._terminated = self._slots.recommend_one(0, action)
        views = self._views()
        self._last_line = (f"user {self._user_id} | views {views} | action {action} | click {click} | "
                           f"p(click) {click_probability:.4f}" + (" | left" if self._terminated else ""))
        conversion = self._slots.last_conversion() if self._slots.conversions else None
        return (self._view_counts(views), float(click), self._terminated, False,
                self._info(views, click_probability, conversion))

    def _step_slate(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        slate = check_slate("action", action, self.slate_size, self.num_products)
        outcome = self._slots.recommend_slate_one(0, slate)
        self._terminated = outcome.left
        views = self._views()
        self._last_line = (f"user {self._user_id} | views {views} | slate {slate.tolist()} | clicks "
                           f"{outcome.position_clicks.tolist()} | p(click) {outcome.click_probability:.4f}"
                           + (" | left" if self._terminated else ""))
        info = self._info(views, outcome.click_probability, None)
        info.update(slate_clicks=outcome.position_clicks, slate_click_probability=outcome.position_click_probability)
        return self._view_counts(views), float(outcome.clicks), self._terminated, False, info

    def render(self) -> str | None:
        """The last step as one text line (``render_mode='ansi'``). Without a
        render mode, warns and returns None, as Gymnasium's own envs do."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode. You can specify the "
                f"render_mode at initialization, e.g. gymnasium.make('{self._env_id()}', render_mode='ansi')")
            return None
        if self._last_line is None:
            raise RuntimeError("call reset() before render()")
        return self._last_line

    def _env_id(self) -> str:
        return self.spec.id if self.spec is not None else "recogym/RecoGym-v1"

    def _info(self, views: list[int], click_probability: float,
              conversion: tuple[int, float] | None) -> dict[str, Any]:
        assert self._user_id is not None
        info: dict[str, Any] = {"user_id": self._user_id, "click_probability": click_probability}
        if self._slots.conversions and conversion is not None:
            info["conversion"], info["conversion_probability"] = conversion
        if self.record_views:
            info["views"] = views
        return info

    def _views(self) -> list[int]:
        views, _ = self._slots.recorded_session()
        return views

    def _view_counts(self, views: list[int]) -> np.ndarray:
        return np.bincount(views, minlength=self.num_products).astype(np.float32)


class RecoGymEnv1(RecoGymEnv):
    """recogym/RecoGym-v1: RecoGym's latent-factor user model.

    Description
        A user is a latent vector ``omega`` (size ``K``) drifting by a random
        walk. Organic views follow ``softmax(Gamma @ omega + mu_organic)``; a
        recommendation of ``a`` is clicked with probability
        ``ff(beta[a] @ omega + mu_bandit[a])``, about 2%. A Markov chain moves
        the user between browsing, waiting for a recommendation and leaving.
    Action Space
        ``Discrete(num_products)``.
    Observation Space
        ``Box(0, VIEW_COUNT_HIGH, (num_products,), float32)``: view counts
        since the last step (see :class:`RecoGymEnv`).
    Rewards
        1.0 for a click, else 0.0.
    Starting State
        ``omega ~ N(0, sigma_omega_initial^2 I)``, after the first session.
    Episode End
        Terminated when the user leaves; never truncated.
    Arguments
        ``recogym.env_1_args`` as keyword arguments (default rng only).
    Version History
        recogym 0.2.0: first release.
    """

    model = "reco-gym-v1"


class RecoGymEnv0(RecoGymEnv):
    """recogym/RecoGymClusters-v0 (alias recogym/RecoGym-v0): RecoGym's
    cluster user model.

    Description
        Products form ``num_clusters`` equal clusters; views move uniformly
        within the cluster of the last viewed product, and the click
        probability of ``a`` after viewing ``v`` is fixed per pair.
    Action Space
        ``Discrete(num_products)``.
    Observation Space
        ``Box(0, VIEW_COUNT_HIGH, (num_products,), float32)``: view counts
        since the last step (see :class:`RecoGymEnv`).
    Rewards
        1.0 for a click, else 0.0.
    Starting State
        After the first session, which follows a uniformly drawn product.
    Episode End
        Terminated when the user leaves; never truncated.
    Arguments
        ``recogym.env_0_args`` as keyword arguments (default rng only).
    Version History
        recogym 0.2.0: first release, as recogym/RecoGym-v0. 0.3.0: renamed
        recogym/RecoGymClusters-v0, which Gymnasium does not take for an old
        RecoGym-v1; the old id stays as an alias.
    """

    model = "reco-gym-v0"


class CumulativeViewCounts(gymnasium.ObservationWrapper[np.ndarray, np.int64, np.ndarray],
                           gymnasium.utils.RecordConstructorArgs):
    """Observe the user's view counts since they arrived, not since the last step.

    The observation space is unchanged: ``Box(0, VIEW_COUNT_HIGH, (P,), float32)``.

    Examples
    --------
    >>> env = CumulativeViewCounts(gymnasium.make('recogym/RecoGym-v1'))
    >>> counts, info = env.reset(seed=0)
    """

    def __init__(self, env: gymnasium.Env) -> None:
        gymnasium.utils.RecordConstructorArgs.__init__(self)
        gymnasium.ObservationWrapper.__init__(self, env)
        shape = env.observation_space.shape
        if shape is None:
            raise TypeError(f"the observation space must be a Box of view counts, got {env.observation_space}")
        self._counts = np.zeros(shape, dtype=np.float64)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        self._counts = np.zeros_like(self._counts)
        return super().reset(seed=seed, options=options)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        self._counts += observation
        return self._counts.astype(np.float32)


