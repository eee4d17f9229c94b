"""The agent interface of RecoGym's notebook, and its batch form."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .._checks import check_int_at_least, check_probability_rows, is_integer
from ..logs import LogBuilder, Logs
from ..params import Configuration, as_configuration
from ..session import Action, Session, SlateAction, UserBatch

__all__ = ["Agent", "BatchAgent", "UserBatch", "context_of", "keyed_uniform", "use_legacy_draws"]


class Agent:
    """Base class of agents: learn with :meth:`train`, recommend with :meth:`act`.

    This is also 0.1.3.0's ``recogym.agents.abstract.Agent``: third-party
    agents subclass it, keep their arguments in ``self.config`` and build
    their action as ``{**super().act(observation, reward, done), 'a': ...,
    'ps': ...}``.

    Parameters
    ----------
    config : dict or Configuration, optional
        The agent's arguments. ``num_products``, if given, must be an
        integer >= 1 and is also kept as ``self.num_products``
        (:class:`BatchAgent` requires it; 0.1.3.0's ``Agent`` required
        nothing).

    Raises
    ------
    TypeError
        If ``config`` is neither a mapping nor None.
    ValueError
        If ``num_products`` is given and is not an integer >= 1.

    Notes
    -----
    ``train(observation, action, reward, done)`` receives the organic session
    seen before ``action``, the action the logging policy took (an
    :class:`~recogym.Action`: an ``int`` whose ``ps`` attribute is its
    propensity, ``None`` when the user ended without one), and its click.
    """

    num_products: int

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"agent config must be a dict or Configuration, got {type(config).__name__}")
        self.config: Configuration = as_configuration(config)
        if "num_products" in self.config:
            num_products: Any = self.config["num_products"]
            if not is_integer(num_products) or num_products < 1:
                raise ValueError(f"agent arg 'num_products' must be an integer >= 1, got {num_products!r}")
            # A subclass may define num_products as a read-only property of its own.
            if not isinstance(getattr(type(self), "num_products", None), property):
                self.num_products = int(num_products)

    def act(self, observation: Any, reward: int | None, done: bool) -> Any:
        """When and for whom this action is: 0.1.3.0's ``{'t': time, 'u': user}``.

        Subclasses return the product to recommend: an ``int``, an
        :class:`~recogym.Action`, or this dict completed with ``'a'``,
        ``'ps'`` (and ``'ps-a'``), as 0.1.3.0's agents did.

        Returns
        -------
        dict
            ``{'t': observation.context().time(), 'u': observation.context().user()}``;
            empty for an observation of ``None`` (which has no context).
        """
        return context_of(observation)

    def train(self, observation: Any, action: Any, reward: int | None, done: bool) -> None:
        """Learn from one logged step; the default learns nothing."""

    def reset(self) -> None:
        """Forget the current user; called when a new user starts."""


def context_of(observation: Any) -> dict[str, Any]:
    """``{'t', 'u'}`` of ``observation.context()``, the head of 0.1.3.0's
    action dicts; ``{}`` for ``None``."""
    if observation is None:
        return {}
    context = observation.context()
    return {"t": context.time(), "u": context.user()}


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(z: np.ndarray) -> np.ndarray:
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


def keyed_uniform(seed: int, user_ids: npt.ArrayLike, steps: npt.ArrayLike) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, user, step).

    An agent that draws its randomness here makes the same choice for a user
    whether it acts one user at a time or for a whole batch at once.
    """
    with np.errstate(over="ignore"):
        z = _splitmix(np.full(np.shape(user_ids), seed, dtype=np.uint64))
        z = _splitmix(z ^ np.asarray(user_ids).astype(np.uint64))
        z = _splitmix(z ^ np.asarray(steps).astype(np.uint64))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


_MASK = (1 << 64) - 1


def _splitmix_int(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def keyed_uniform_one(seed: int, user_id: int, step: int) -> float:
    """:func:`keyed_uniform` for one key, in plain Python (no array overhead)."""
    z = _splitmix_int(_splitmix_int(_splitmix_int(seed & _MASK) ^ (user_id & _MASK)) ^ (step & _MASK))
    return (z >> 11) * (1.0 / 9007199254740992.0)


def choose(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """One product per row of ``probabilities`` by inverse CDF (never one of
    probability 0)."""
    cdf = np.cumsum(probabilities, axis=1)
    thresholds = uniforms * cdf[:, -1]
    chosen = (cdf <= thresholds[:, None]).sum(axis=1)
    products: np.ndarray = np.minimum(chosen, probabilities.shape[1] - 1)
    return products


class BatchAgent(Agent):
    """An agent given by a policy: probabilities over products for a batch of users.

    Subclasses implement :meth:`policy` and, to learn, :meth:`train_logs`.
    This class then provides the rest, identically for one user and for many:

    * ``act`` / ``act_batch`` draw from the policy with :func:`keyed_uniform`,
      so a user gets the same recommendations either way;
    * ``train`` buffers the notebook-style steps as logs and hands them to
      ``train_logs`` before the next act, so learning step by step and
      learning from :meth:`~recogym.RecoEnv.simulate` logs give the same agent;
    * every action carries its propensity and the whole vector (``ps-a``;
      the env logs it with ``with_ps_all``).

    With :attr:`legacy_draws` (on when the config has ``rng='legacy'``, or
    through :func:`use_legacy_draws`) the agent draws instead as 0.1.3.0's
    agent of the same name did, from its own
    ``numpy.random.RandomState(random_seed)``, user after user, in that
    agent's pattern (:meth:`legacy_draw`); the propensities it reports stay
    its policy's.
    """

    #: Draw as 0.1.3.0 did (see :meth:`legacy_draw`) rather than by keyed uniforms.
    legacy_draws: bool = False
    _legacy_rng: np.random.RandomState | None = None

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        if "num_products" not in self.config:
            raise ValueError("agent arg 'num_products' must be an integer >= 1, got None")
        self.random_seed = self.config.get("random_seed", 0)
        self.with_ps_all = bool(self.config.get("with_ps_all", False))
        #: Products per recommendation: the env arg ``slate_size`` in the
        #: agent's config (1 when absent); above 1 the agent ranks (:meth:`rank`).
        self.slate_size = check_int_at_least("agent arg 'slate_size'", self.config.get("slate_size") or 1, 1)
        if self.slate_size > self.num_products:
            raise ValueError(f"agent arg 'slate_size' must be in [1, num_products = {self.num_products}], "
                             f"got {self.slate_size}")
        # 0.1.3.0's notebooks build agents from the env's args, rng included.
        self.legacy_draws = self.config.get("rng") == "legacy"
        self._pending = LogBuilder()
        self._trained_user: int | None = None
        self.reset()

    # -- what subclasses provide -------------------------------------------

    def policy(self, batch: UserBatch) -> np.ndarray:
        """(B, P) probabilities of recommending each product to each user."""
        raise NotImplementedError

    def train_logs(self, logs: Logs) -> None:
        """Learn from these logs as well; the default learns nothing."""

    # -- acting --------------------------------------------------------------

    def draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        """One product per user of ``batch`` from the policy's
        ``probabilities``, by inverse CDF of a uniform keyed by (seed, user,
        step); with :attr:`legacy_draws`, by :meth:`legacy_draw`."""
        if self.legacy_draws:
            return self.legacy_draw(batch, probabilities)
        if len(batch.user_ids) == 1:  # one user: skip the array arithmetic
            uniforms = np.array([keyed_uniform_one(self.random_seed, int(batch.user_ids[0]), int(batch.steps[0]))])
        else:
            uniforms = keyed_uniform(self.random_seed, batch.user_ids, batch.steps)
        return choose(probabilities, uniforms)

    def legacy_draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        """0.1.3.0's draw, one user after another in the batch's order:
        ``rng.choice(num_products, p=row)`` from :meth:`legacy_rng`, as its
        agents that sample their policy did (``select_randomly``).

        Agents whose 0.1.3.0 counterpart drew otherwise override this. A
        deterministic policy (one-hot rows) gives its product whatever the
        draw, so agents that took an argmax in 0.1.3.0 act alike here.
        """
        rng = self.legacy_rng()
        return np.array([rng.choice(self.num_products, p=row) for row in probabilities], dtype=np.int64)

    def legacy_rng(self) -> np.random.RandomState:
        """The agent's own ``RandomState(random_seed)`` of legacy draws.

        It is made at the first legacy draw, so copies of an agent that has
        not drawn yet (``test_agent`` trains a deepcopy per epoch) start
        alike, as 0.1.3.0's copies did; ``reset`` keeps it.

        Raises
        ------
        ValueError
            If ``random_seed`` is not an integer in [0, 2**32 - 1], which
            ``RandomState`` needs.
        """
        if self._legacy_rng is None:
            seed: Any = self.random_seed
            if not is_integer(seed) or not 0 <= seed <= 2**32 - 1:
                raise ValueError(f"agent arg 'random_seed' must be an integer in [0, 2**32 - 1] for 0.1.3.0's "
                                 f"draws (rng='legacy'), got {seed!r}")
            self._legacy_rng = np.random.RandomState(int(seed))
        return self._legacy_rng

    def set_legacy_draws(self, legacy: bool = True) -> None:
        """Switch :attr:`legacy_draws` on or off (agents that wrap another
        switch it too)."""
        self.legacy_draws = bool(legacy)

    def scores(self, batch: UserBatch) -> np.ndarray:
        """(B, P) scores of the products for each user, by which slates rank
        them: the policy's probabilities by default; agents whose policy is
        greedy override this with what they maximise."""
        return self.checked_policy(batch)

    def rank(self, batch: UserBatch) -> np.ndarray:
        """(B, slate_size) the products with the best :meth:`scores` for each
        user, best first; ties go to the lower product id."""
        self.fit_pending()
        scores = np.asarray(self.scores(batch), dtype=np.float64)
        if scores.shape != (len(batch.user_ids), self.num_products):
            raise ValueError(f"{type(self).__name__}.scores() must return shape (users, num_products) = "
                             f"{(len(batch.user_ids), self.num_products)}, got {scores.shape}")
        order: np.ndarray = np.argsort(-scores, axis=1, kind="stable")[:, :self.slate_size]
        return order

    def slate_propensities(self, slates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The probabilities of :meth:`rank`'s ``slates`` (B, k): the slate's,
        per position and per prefix (:class:`~recogym.session.SlateAction`'s
        ``ps``, ``pscore_item_position`` and ``pscore_cascade``). A ranking
        by scores is deterministic: all 1."""
        ones = np.ones(slates.shape)
        return ones[:, -1].copy(), ones, ones.copy()

    def act_batch(self, batch: UserBatch) -> tuple[np.ndarray, np.ndarray]:
        """Products for every user of ``batch`` and their propensities; with
        ``slate_size`` k > 1, (B, k) rankings (:meth:`rank`) and their
        probabilities (:meth:`slate_propensities`)."""
        if self.slate_size > 1:
            slates = self.rank(batch)
            return slates, self.slate_propensities(slates)[0]
        self.fit_pending()
        probabilities = self.checked_policy(batch)
        actions = self.draw(batch, probabilities)
        return actions, probabilities[np.arange(len(actions)), actions]

    def checked_policy(self, batch: UserBatch) -> np.ndarray:
        """:meth:`policy`'s probabilities, checked: they become propensities,
        so garbage is refused here, naming the agent."""
        return check_probability_rows(f"{type(self).__name__}.policy()", self.policy(batch),
                                      (len(batch.user_ids), self.num_products))

    def batch_acts_like_act(self) -> bool:
        """Whether :meth:`act_batch` recommends what :meth:`act` would, so that
        a batch may stand in for users acting one by one: so for this class's
        own ``act``; a subclass that overrides ``act`` (as 0.1.3.0's
        third-party agents do) is served user by user unless it says so."""
        return type(self).act is BatchAgent.act

    def act(self, observation: Session | None, reward: int | None, done: bool) -> Any:
        """Draw this user's next product from the policy, with its propensity
        (an :class:`~recogym.Action`); with ``slate_size`` k > 1, the user's
        ranking of the k best-scored products (a
        :class:`~recogym.session.SlateAction`, propensity 1)."""
        self._observe(observation)
        self.fit_pending()
        batch = UserBatch(self._user_views[None, :], np.array([self._last_view]),
                          np.array([self._user_id]), np.array([self._user_step]))
        if self.slate_size > 1:
            self._user_step += 1
            slates = self.rank(batch)
            ps, item_position, cascade = self.slate_propensities(slates)
            return SlateAction(slates[0], ps[0], item_position[0], cascade[0], **context_of(observation))
        probabilities = self.checked_policy(batch)
        action = int(self.draw(batch, probabilities)[0])
        self._user_step += 1
        # The whole vector always (free here): 0.1.3.0 code reads act()['ps-a'] without with_ps_all too,
        # and action['t'], action['u'], which its action dicts carried.
        return Action(action, probabilities[0, action], probabilities[0], **context_of(observation))

    def reset(self) -> None:
        """Forget the current user's views and steps."""
        self._user_views = np.zeros(self.num_products)
        self._last_view = -1
        self._user_id = 0
        self._user_step = 0

    def _observe(self, observation: Session | None) -> None:
        if observation:
            views = observation.get_views()
            self._user_id = observation.user
            np.add.at(self._user_views, views, 1.0)
            self._last_view = views[-1]

    # -- learning step by step ---------------------------------------------

    def train(self, observation: Session | None, action: Action | None, reward: int | None, done: bool) -> None:
        """Buffer one notebook-style step; ``train_logs`` learns from it before the next act."""
        if observation:
            views = observation.get_views()
            times = observation.times if len(observation.times) == len(views) else [np.nan] * len(views)
            self._pending.views(times, observation.user, views)
            self._trained_user = observation.user
        if action is not None:
            if reward is None:
                raise TypeError(f"train() got action {action!r} with reward None")
            # Any: None when no user is known yet, which the logs' int64 column then refuses.
            user: Any = getattr(action, "u", self._trained_user)
            if isinstance(action, SlateAction) or np.ndim(action) == 1:
                raise TypeError("train() takes one product per step; train a slate agent on slate logs "
                                "with train_logs(env.simulate(...))")
            self._pending.impression(getattr(action, "t", np.nan), user, int(action), int(reward),
                                     getattr(action, "ps", 1.0))

    def fit_pending(self) -> None:
        """Learn, through ``train_logs``, from the steps ``train`` buffered
        since the last act; called before every act, and by agents that
        wrap this one."""
        if self._pending.rows:
            logs, self._pending = self._pending.build(), LogBuilder()
            self.train_logs(logs)


def serves_batches(agent: Any) -> bool:
    """Whether ``agent.act_batch`` may stand in for ``agent.act``: an agent
    with ``act_batch``, unless it is a :class:`BatchAgent` whose ``act`` was
    overridden (:meth:`BatchAgent.batch_acts_like_act`)."""
    if not callable(getattr(agent, "act_batch", None)):
        return False
    return agent.batch_acts_like_act() if isinstance(agent, BatchAgent) else True


def ranking_for(agent: Any, slate_size: int) -> Any:
    """``agent`` made to rank ``slate_size`` products: a :class:`BatchAgent`
    built for one product gets that ``slate_size`` (in place); any other
    agent is returned as it is, to return slates itself.

    Raises
    ------
    ValueError
        If ``slate_size`` exceeds the agent's ``num_products``.
    """
    if isinstance(agent, BatchAgent) and agent.slate_size != slate_size:
        if slate_size > agent.num_products:
            raise ValueError(f"slate_size must be in [1, num_products = {agent.num_products}], got {slate_size}")
        agent.slate_size = slate_size
    return agent


def use_legacy_draws(agent: Any) -> None:
    """Make ``agent`` draw its recommendations as 0.1.3.0's agents did.

    The legacy env layer calls this on the agents it drives, so that
    ``test_agent`` and the notebooks' loops on an ``rng='legacy'`` env give
    0.1.3.0's numbers draw for draw: a :class:`BatchAgent` then draws from
    its own ``RandomState(random_seed)`` in its 0.1.3.0 counterpart's
    pattern (:meth:`BatchAgent.legacy_draw`). Any other agent (a notebook's
    own class) is left as it is: its draws are its own.

    Parameters
    ----------
    agent : object
        An agent; ``None`` is allowed and ignored.
    """
    if isinstance(agent, BatchAgent):
        agent.set_legacy_draws(True)
