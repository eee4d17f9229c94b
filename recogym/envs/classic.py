"""The classic RecoGym env: ``init_gym``, ``reset``, ``step``, ``step_offline``,
``generate_logs``, as in RecoGym's getting-started notebook."""
from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from .._progress import tqdm

from .._checks import MAX_USER_ID, check_action, check_count, check_seed, check_slate, check_user_id, check_user_range
from .._checks import is_integer
from ..logs import LogBuilder, Logs
from ..model import Simulation
from ..model import transition_matrix
from ..params import TIME_GENERATOR_OBJECT, MODEL_IDS, Configuration, env_0_args, env_1_args, env_args
from ..params import resolve_env_args, slate_size_of
from ..policies import LoggingPolicy
from ..session import Action, OrganicSessions, Session, SlateAction, as_action, as_slate_action
from ..time_generators import DefaultTimeGenerator, NormalTimeGenerator
from ..sim.simulate import kernel_policy, log_engine, simulate_logs, uses_lockstep
from ..sim.slots import SlateOutcome, Slots

__all__ = ["RecoEnv", "RecoEnv0", "RecoEnv1", "make", "ENV_IDS", "MAX_USER_ID", "AbstractEnv", "env_args",
           "env_0_args", "env_1_args", "organic", "bandit", "stop"]

ENV_IDS = MODEL_IDS

#: 0.1.3.0's names of the Markov states (``env.state``).
organic, bandit, stop = 0, 1, 2


class RecoEnv:
    """A stream of simulated users, one episode per user.

    Each user starts with an organic session; then the agent recommends a
    product at each step until the user leaves.

    Build it with :func:`recogym.make` and configure it with :meth:`init_gym`.
    """

    model = ""

    def __init__(self) -> None:
        self.config: Configuration | None = None
        self._simulation: Simulation | None = None
        self._in_episode = False
        self._first_step = True
        self._logging_agent: Any = None
        self._user: int | None = None

    # -- configuration ---------------------------------------------------

    def init_gym(self, args: Mapping[str, Any] | None = None) -> None:
        """Configure the env from ``args`` (``env_1_args``-style dict or
        Configuration; missing keys take the model's defaults) and start the
        user stream at user 0.

        Raises
        ------
        ValueError, TypeError
            If an argument is outside its allowed values.
        """
        config = resolve_env_args(self.model, args)
        self._simulation = Simulation.create(self.model, config)
        self.config = config
        self.num_products = config.num_products
        self.agent = config.get("agent")
        # The uniform logging policy's propensities, as its actions carry them.
        self._uniform_ps = 1.0 / self.num_products
        self._uniform_ps_all = self._uniform_policy() if config.with_ps_all else ()
        self.slate_size = slate_size_of(config)
        self.reset_random_seed()

    @property
    def simulation(self) -> Simulation:
        """The configured model this env runs (for building other front ends
        on the same users, such as :class:`~recogym.BatchEnv`)."""
        return self._require_init()

    @property
    def agent(self) -> Any:
        """The logging policy of :meth:`step_offline` and :meth:`generate_logs`:
        an agent, or ``None`` for uniform random (the env arg ``agent``). A
        legacy env switches a recogym agent to 0.1.3.0's draws
        (:func:`~recogym.agents.base.use_legacy_draws`), here and in
        :meth:`generate_logs`."""
        return self._logging_agent

    @agent.setter
    def agent(self, agent: Any) -> None:
        if agent is not None and not callable(getattr(agent, "act", None)):
            raise TypeError(f"env.agent must be None (uniform logging) or an agent with an act() method, "
                            f"got {agent!r}")
        if self._simulation is not None and self._simulation.legacy:
            _use_legacy_draws(agent)
        self._logging_agent = agent

    # -- 0.1.3.0's attributes, read from the engine ------------------------

    @property
    def first_step(self) -> bool:
        """Whether the current user's first step (``step(None)``) is still to come."""
        return self._first_step

    @property
    def current_user_id(self) -> int | None:
        return self._user

    @property
    def state(self) -> int | None:
        """The current user's Markov state: :data:`organic` (0), :data:`bandit` (1) or :data:`stop` (2)."""
        if self._user is None:
            return None
        return int(self._slots.markov_state[0])

    @property
    def state_transition(self) -> np.ndarray:
        """The organic/bandit/stop chain's 3 x 3 transition matrix."""
        return transition_matrix(self._require_init().config)

    @property
    def empty_sessions(self) -> OrganicSessions:
        return OrganicSessions()

    @property
    def action_space(self) -> Any:
        """``gymnasium.spaces.Discrete(num_products)``; with ``slate_size`` k > 1
        ``MultiDiscrete([num_products] * k)``, whose samples must also be
        distinct products to be a slate."""
        from gymnasium.spaces import Discrete, MultiDiscrete

        if self._require_init() and self.slate_size > 1:
            return MultiDiscrete([self.num_products] * self.slate_size)
        return Discrete(self._require_init().num_products)

    @property
    def time_generator(self) -> Any:
        """The time generator object: the one given in the env args, else one of the kind they name."""
        config = self._require_init().config
        given = config.get(TIME_GENERATOR_OBJECT)
        if given is not None:
            return given
        return NormalTimeGenerator(config) if config.time_generator == "normal" else DefaultTimeGenerator(config)

    @property
    def product_view(self) -> int:
        """The product the current user viewed last."""
        return int(self._slots.last_view[0])

    def rng_state(self) -> Any:
        """A picklable snapshot of the env's random streams and user counter,
        for :meth:`set_rng_state` (what ``test_agent(with_cache=True)`` needs
        to go on as if cached logs had been simulated)."""
        state = self._slots.engine.state
        return copy.deepcopy((state["main_stream"], state["time_stream"], self._next_user))

    def set_rng_state(self, snapshot: Any) -> None:
        """Go on from a snapshot of :meth:`rng_state`, in place."""
        state = self._slots.engine.state
        main, clock, next_user = snapshot
        self._next_user = int(next_user)
        for stream, saved in ((state["main_stream"], main), (state["time_stream"], clock)):
            if stream is not None:
                stream.bit_generator.state = saved.bit_generator.state
                stream.gauss[:] = saved.gauss
        self._in_episode = False

    def _require_init(self) -> Simulation:
        if self._simulation is None:
            raise RuntimeError(f"call init_gym(args) on this {self.model} env first")
        return self._simulation

    def reset_random_seed(self, epoch: int = 0) -> None:
        """Restart the user stream: the next :meth:`reset` meets user 0 again,
        with draws seeded by ``random_seed + epoch``."""
        simulation = self._require_init()
        epoch = check_count("epoch", epoch)
        check_seed("random_seed + epoch", simulation.config.random_seed + epoch, simulation.config.rng)
        self._simulation = simulation.reseeded(epoch)
        self._slots = Slots(self._simulation, 1, record_views=True)
        self._next_user = 0
        self._in_episode = False

    def _require_episode(self, method: str) -> None:
        if self.config is None:
            raise RuntimeError(f"call init_gym(args), then reset(), before {method}() on this {self.model} env")
        if not self._in_episode:
            raise RuntimeError(f"call reset() before {method}()")

    # -- one user at a time ----------------------------------------------

    def take_users(self, count: int) -> int:
        """Reserve the next ``count`` user ids (as ``count`` calls of
        :meth:`reset` would) and return the first."""
        self._require_init()
        count = check_count("count", count)
        check_user_range(self._next_user, count, "the next user id + count")
        first, self._next_user = self._next_user, self._next_user + count
        return first

    def reset(self, user_id: int | None = None) -> None:
        """Start a user: the next one (ids count up from 0), or ``user_id``.

        In the default random-number mode a user's draws depend only on
        ``(random_seed, user_id)``; in legacy mode users draw in turn from one
        stream, so ``user_id`` is only a label, 0 unless given (as in 0.1.3.0).
        """
        self._require_init()
        if user_id is None:
            # 0.1.3.0's reset(user_id=0): in legacy mode ids only label users, and they are its labels.
            user_id = 0 if self._require_init().legacy else self._next_user
            if user_id > MAX_USER_ID:
                raise ValueError(f"no user id is left after {MAX_USER_ID}: call reset(user_id) with an id "
                                 f"in [0, {MAX_USER_ID}], or reset_random_seed()")
        else:
            user_id = check_user_id("user_id", user_id)
        self._user = user_id
        self._next_user = user_id + 1
        self._slots.start_one(0, user_id, browse=False)
        self._in_episode = True
        self._first_step = True
        self._done = False
        self._last_observation: Session | None = None
        self._last_reward: int | None = None
        if self._logging_agent is not None:
            self._logging_agent.reset()

    def step(self, action: Any) -> tuple[Session, int | None, bool, dict[str, Any]]:
        """Show product ``action`` to the user; with env arg ``slate_size`` k > 1,
        the slate ``action``: a ranking of k distinct products, top first
        (a sequence, an int array, or a :class:`~recogym.session.SlateAction`).

        The first step of a user takes ``action=None`` and returns its first
        organic session.

        Returns
        -------
        observation : Session
            The products viewed since the last step (empty if none), with
            0.1.3.0's ``sessions()`` and ``context()``.
        reward : int or None
            1 if the user clicked ``action``, else 0; ``None`` on the first step.
            For a slate, its number of clicks (at most 1 under the cascade).
        done : bool
            True once the user has left; call :meth:`reset` for the next one.
        info : dict
            Empty; with conversions (env arg ``with_conversions``), a
            recommendation's info holds ``conversion`` (1 if the user clicked
            and the click converted, else 0) and ``conversion_probability``
            (the true probability that a click on ``action`` converts). For a
            slate, per position ``slate_clicks`` and their true
            probabilities ``slate_click_probability``, the products' click
            probabilities ``product_click_probability``, and the probability
            of any click ``click_probability`` (:func:`slate_info`).

        Raises
        ------
        RuntimeError
            Before :meth:`reset`, or after the user is done. Legacy mode steps
            on as 0.1.3.0 does (a click draw, and the user may come back);
            the default mode allows it once, for a user who left during their
            first session as the notebook's loop does: that step shows
            nothing, returns reward ``None`` and warns.
        TypeError, ValueError
            If ``action`` is not an integer in ``[0, num_products)``, or is
            ``None`` after the first step.
        """
        self._require_episode("step")
        if self._done:
            return self._step_after_done(action)
        if self._first_step:
            if action is not None:
                raise ValueError(f"the first step of a user takes action=None (it returns the first "
                                 f"organic session), got {action!r}")
            self._first_step = False
            reward = None
            self._done = self._slots.browse_one(0)
        else:
            if action is None:
                raise TypeError(f"action must be an integer product index in [0, {self.num_products}); "
                                "None is only for the first step of a user")
            if self.slate_size > 1:
                reward, info = self._show_slate(action)
                observation = self._session()
                self._left_on_arrival = False
                self._last_observation, self._last_reward = observation, reward
                return observation, reward, self._done, info
            reward, _, self._done = self._slots.recommend_one(0, check_action(action, self.num_products))
        observation = self._session()
        self._left_on_arrival = self._done and reward is None
        self._last_observation, self._last_reward = observation, reward
        return observation, reward, self._done, self._info(reward is not None)

    def _info(self, recommended: bool) -> dict[str, Any]:
        """A step's info: with conversions, a recommendation's conversion."""
        if not (recommended and self._slots.conversions):
            return {}
        conversion, probability = self._slots.last_conversion()
        return {"conversion": conversion, "conversion_probability": probability}

    def _show_slate(self, action: Any) -> tuple[int, dict[str, Any]]:
        """Show the ranking ``action``; the reward is its number of clicks."""
        slate = check_slate("action", action["a"] if isinstance(action, (dict, SlateAction)) else action,
                            self.slate_size, self.num_products)
        outcome = self._slots.recommend_slate_one(0, slate)
        self._done = outcome.left
        return outcome.clicks, slate_info(outcome)

    def _step_after_done(self, action: int | None) -> tuple[Session, int | None, bool, dict[str, Any]]:
        # The notebook's online loop sets done = None after step(None), so it
        # recommends once to a user who left during their first session.
        # 0.1.3.0 then shows the product to the user who left: a click draw
        # and a step of the chain, which a click turns organic again. Legacy
        # mode does the same, at any step after done; the default mode shows
        # nothing, once, and warns.
        if self._require_init().legacy:
            reward, _, self._done = self._slots.recommend_one(0, check_action(action, self.num_products))
            observation = self._session()
            self._last_observation, self._last_reward = observation, reward
            return observation, reward, self._done, {}
        if not self._left_on_arrival:
            raise RuntimeError("this user is done: call reset() to start the next user before step()")
        if self.slate_size > 1:
            check_slate("action", action, self.slate_size, self.num_products)
        else:
            check_action(action, self.num_products)
        self._left_on_arrival = False
        warnings.warn("step() after the user left during their first organic session: nothing was shown; "
                      "check done after step(None)", UserWarning, stacklevel=3)
        return self._empty_session(), None, True, {}

    def _session(self) -> Session:
        views, times = self._slots.recorded_session()
        return Session(views, times, self._user or 0, self.current_time)

    def _empty_session(self) -> Session:
        return Session((), (), self._user or 0, self.current_time)

    def step_offline(self, observation: Session | None = None, reward: int | None = None,
                     done: bool | None = None) -> tuple[Action | SlateAction | None, Session, int | None, bool,
                                                        dict[str, Any] | None]:
        """One step under the logging policy: uniform random, or the env's
        :attr:`agent`.

        ``observation``, ``reward`` and ``done`` are what the last step
        returned (0.1.3.0's signature); left out, the env's own are used. The
        logging agent acts on them. Once the user is done, a call still draws
        the logging policy's action, as 0.1.3.0's did, and returns it with an
        empty observation, reward 0, done and info ``None``.

        Returns
        -------
        action : Action or None
            The product shown (an ``int`` with its propensity in ``action.ps``);
            ``None`` on the first step.
        observation, reward, done, info
            As :meth:`step`.
        """
        self._require_episode("step_offline")
        if self._first_step:
            return (None, *self.step(None))
        done = self._done if done is None else bool(done)
        action = self._logging_action(self._last_observation if observation is None else observation,
                                      self._last_reward if reward is None else reward, done)
        if done:
            return action, self._empty_session(), 0, True, None
        assert action is not None  # only declined after done
        return (action, *self.step(action if isinstance(action, SlateAction) else int(action)))

    def _logging_action(self, observation: Session | None, reward: int | None,
                        done: bool) -> Action | SlateAction | None:
        if self.slate_size > 1:
            return self._logging_slate(observation, reward, done)
        if self._logging_agent is not None:
            raw = self._logging_agent.act(observation, reward, done)
            if raw is None and done:
                return None  # an agent may decline the action after done: 0.1.3.0 then logs nothing
            choice = as_action(raw, self.num_products, self._logging_agent)
            product, ps, ps_all = int(choice), choice.ps, choice.ps_all
        else:
            product, ps, ps_all = self._slots.uniform_action(0), self._uniform_ps, self._uniform_ps_all
        return Action(product, ps, ps_all, t=self.current_time, u=self._user)

    def _logging_slate(self, observation: Session | None, reward: int | None, done: bool) -> SlateAction | None:
        if self._logging_agent is not None:
            raw = self._logging_agent.act(observation, reward, done)
            if raw is None and done:
                return None
            choice = as_slate_action(raw, self.slate_size, self.num_products, self._logging_agent)
        else:
            P, k = self.num_products, self.slate_size
            ps = 1.0
            cascade = []
            for j in range(k):
                ps = ps / float(P - j)
                cascade.append(ps)
            choice = SlateAction(self._slots.uniform_slate(0), ps, np.full(k, 1.0 / P), cascade)
        return SlateAction(choice, choice.ps, choice.pscore_item_position, choice.pscore_cascade,
                           t=self.current_time, u=self._user)

    @property
    def current_time(self) -> float:
        """The time of the current user's next event."""
        return float(self._slots.engine.state["time"][0])

    def finish_offline_user(self) -> None:
        """End the current user as 0.1.3.0's offline loops do: in legacy mode
        the logging policy draws once more after the user's last step (the
        :meth:`step_offline` after done), for a log row 0.1.3.0 never shows,
        so later users meet the same random numbers. In the default mode
        users do not share a stream, and nothing is drawn."""
        if self._require_init().legacy:
            self.step_offline(self._last_observation, self._last_reward, True)

    def _uniform_policy(self) -> np.ndarray:
        policy = np.full(self.num_products, 1.0 / self.num_products)
        policy.flags.writeable = False  # one vector, shared by every action that carries it
        return policy

    def click_probability(self, action: int) -> float:
        """The true probability that the current user would click ``action`` now."""
        self._require_episode("click_probability")
        return self._slots.click_probability(0, check_action(as_action(action, self.num_products),
                                                              self.num_products))

    def conversion_probability(self, action: int) -> float:
        """The true probability that a click of the current user on ``action``
        now would convert (env arg ``with_conversions``).

        Raises
        ------
        ValueError
            If the env has no conversions.
        """
        self._require_episode("conversion_probability")
        action = check_action(as_action(action, self.num_products), self.num_products)
        return self._slots.conversion_probability(0, action)

    # -- many users --------------------------------------------------------

    def generate_logs(
        self,
        num_offline_users: int,
        agent: Any = None,
        num_organic_offline_users: int = 0,
    ) -> pd.DataFrame:
        """Logs of a logging policy on new users, as 0.1.3.0's DataFrame:
        columns t, u, z, v, a, c, ps and ps-a (the logging policy's vector
        with ``with_ps_all``, else ``()``); v, a and c are NaN where an event
        has no such value (:meth:`Logs.to_pandas` has nullable integers).

        User ids start at 0: the first ``num_organic_offline_users`` contribute
        one organic session each, the next ``num_offline_users`` their whole
        timeline. ``agent`` (default: the env's ``agent`` arg, else uniform
        random) chooses the actions.

        In legacy mode these are 0.1.3.0's logs row for row, with the
        impression it logs after each user's last step: the logging policy's
        action for a user who had left, never shown, click 0.
        :meth:`simulate` has no such rows (and runs without Python per event).
        """
        config = self._require_init().config
        num_offline_users = check_count("num_offline_users", num_offline_users)
        num_organic_offline_users = check_count("num_organic_offline_users", num_organic_offline_users)
        agent = agent if agent is not None else self._logging_agent
        if agent is not None and not callable(getattr(agent, "act", None)):
            raise TypeError(f"agent must have an act() method, got {agent!r}")
        if config.rng == "legacy":
            _use_legacy_draws(agent)
        self._in_episode = False
        if agent is None and config.rng != "legacy":
            return self.simulate(num_offline_users, num_organic_offline_users).to_pandas(
                self._uniform_policy() if config.with_ps_all else (), nullable=False)
        logs, ps_all = self._agent_logs(agent, num_offline_users, num_organic_offline_users)
        return logs.to_pandas(ps_all if config.with_ps_all else (), nullable=False)

    def simulate(self, num_users: int, num_organic_users: int = 0, first_user: int = 0,
                 policy: LoggingPolicy = None) -> Logs:
        """Columnar logs (numpy arrays, with the true click probability of
        every impression) of ``num_users`` users from ``first_user`` on.

        ``policy`` is a fixed probability vector over products,
        :class:`~recogym.policies.UserPopularity`, or ``None`` for uniform. In
        legacy mode users continue the env's one random stream.
        """
        simulation = self._require_init()
        num_users = check_count("num_users", num_users)
        num_organic_users = check_count("num_organic_users", num_organic_users)
        first_user = check_count("first_user", first_user)
        check_user_range(first_user, num_users + num_organic_users,
                         "first_user + num_organic_users + num_users")
        kernel_policy(policy, self.num_products, slate_size_of(simulation.config))  # validates before any draw
        self._in_episode = False
        # Legacy users continue the env's own stream; the others run anywhere.
        engine = log_engine(simulation) if uses_lockstep(simulation) else self._slots.engine
        with tqdm(total=num_users + num_organic_users, desc="Users", disable=None, leave=False) as progress:
            return simulate_logs(engine, first_user, num_users, num_organic_users, policy, progress=progress)

    def _agent_logs(self, agent: Any, num_offline_users: int, num_organic_offline_users: int) -> tuple[Logs, list[Any]]:
        saved_agent, self._logging_agent = self._logging_agent, agent
        builder = LogBuilder(conversions=self._slots.conversions)

        def store_views(observation: Session | None) -> None:
            if observation is not None:
                builder.views(observation.times, observation.user, observation.get_views())

        try:
            total = num_organic_offline_users + num_offline_users
            for user in tqdm(range(total), desc="Users", disable=None, leave=False):
                self.reset(user)
                action, observation, reward, done, _ = self.step_offline()
                store_views(observation)
                if user < num_organic_offline_users:
                    continue
                while not done:
                    time = self.current_time
                    action, observation, reward, done, info = self.step_offline()
                    assert action is not None and reward is not None  # only a user's first step has none
                    if isinstance(action, SlateAction):
                        assert info is not None
                        builder.slate_impression(time, user, action, info)
                    else:
                        info = info or {}
                        builder.impression(time, user, int(action), reward, action.ps, ps_all=action.ps_all,
                                           conversion=info.get("conversion", -1),
                                           conversion_probability=info.get("conversion_probability", np.nan))
                    store_views(observation)
                if self._require_init().legacy:
                    # 0.1.3.0 logs the logging action it takes after the user left: a row never
                    # shown, with click 0 (its "phantom" impression), which legacy mode keeps.
                    phantom, *_ = self.step_offline(self._last_observation, self._last_reward, True)
                    if isinstance(phantom, Action):       # legacy mode has no slates
                        builder.impression(phantom.t, user, int(phantom), 0, phantom.ps, ps_all=phantom.ps_all)
        finally:
            self._logging_agent = saved_agent
            self._in_episode = False
        return builder.build(), builder.ps_all


class RecoEnv1(RecoEnv):
    """reco-gym-v1: the latent-factor user model.

    Description
        Each user has a latent vector ``omega`` (size ``K``) that drifts by a
        random walk while the user browses. Organic views are drawn from
        ``softmax(Gamma @ omega + mu_organic)``; a recommendation of product
        ``a`` is clicked with probability ``ff(beta[a] @ omega + mu_bandit[a])``.
        A Markov chain moves the user between organic, bandit and leaving.
    Action Space
        An integer in ``[0, num_products)``: the recommended product; with
        ``slate_size`` k > 1, a ranking of k distinct products (a sequence).
    Observation Space
        ``None`` or a :class:`~recogym.Session` of ``('pageview', product)``.
    Rewards
        1 for a click, 0 otherwise (``None`` on a user's first step); for a
        slate, its number of clicks.
    Starting State
        Organic, with ``omega ~ N(0, sigma_omega_initial^2 I)``.
    Episode End
        When the chain moves to the leave state.
    Arguments
        ``recogym.env_1_args``; optionally (default rng only)
        ``organic_after_click='clicked'`` (the session after a click starts
        at the clicked product) and ``with_conversions=True`` (clicks may
        convert; ``psale_scale``, ``kappa``, ``sigma_Lambda``): see
        docs/model.md; ``slate_size`` k > 1 with ``click_model`` and its
        position parameters (slates: docs/slates.md).
    Version History
        v1: RecoGym 0.1.3.0's model; ``rng='legacy'`` reproduces its draws.
    """

    model = "reco-gym-v1"

    @property
    def Gamma(self) -> np.ndarray:
        """The organic embedding of the products, (P, K)."""
        return np.asarray(self.simulation.static["gamma"])

    @property
    def mu_organic(self) -> np.ndarray:
        """The organic popularity of the products, (P, 1)."""
        return np.asarray(self.simulation.static["mu_organic"]).reshape(-1, 1)

    @property
    def beta(self) -> np.ndarray:
        """The bandit embedding of the products, (P, K)."""
        return np.asarray(self.simulation.static["beta"])

    @property
    def mu_bandit(self) -> np.ndarray:
        """The bandit popularity of the products, (P, 1)."""
        return np.asarray(self.simulation.static["mu_bandit"]).reshape(-1, 1)

    @property
    def omega(self) -> np.ndarray:
        """The current user's latent vector, (K, 1) (a copy)."""
        return np.array(self._slots.engine.state["omega"][0]).reshape(-1, 1)

    def generate_beta(self, number_of_flips: int) -> None:
        """Make ``beta``/``mu_bandit`` anew from ``Gamma``/``mu_organic`` with
        ``number_of_flips`` flips of the most similar products, as 0.1.3.0's
        ``generate_beta``; users and random streams go on."""
        simulation = self._require_init()
        limit = simulation.num_products // 2
        if not is_integer(number_of_flips) or not 0 <= number_of_flips <= limit:
            raise ValueError(f"number_of_flips swaps pairs of products, so it must be an integer in [0, {limit}], "
                             f"got {number_of_flips!r}")
        self._simulation = simulation.flipped(int(number_of_flips))
        self._slots = Slots(self._simulation, 1, record_views=True, state=self._slots.engine.state)


class RecoEnv0(RecoEnv):
    """reco-gym-v0: the cluster user model.

    Description
        Products form ``num_clusters`` equal clusters. Views move uniformly
        within the cluster of the last viewed product; the click probability
        of ``a`` after viewing ``v`` is fixed per pair (``phi_var`` sets its
        noise).
    Action Space
        An integer in ``[0, num_products)``; with ``slate_size`` k > 1, a
        ranking of k distinct products (a sequence).
    Observation Space
        ``None`` or a :class:`~recogym.Session` of ``('pageview', product)``.
    Rewards
        1 for a click, 0 otherwise (``None`` on a user's first step); for a
        slate, its number of clicks.
    Starting State
        Organic, after a uniformly drawn (unlogged) product.
    Episode End
        When the chain moves to the leave state.
    Arguments
        ``recogym.env_0_args``; optionally (default rng only)
        ``organic_after_click='clicked'``: see docs/model.md; ``slate_size``
        k > 1 with ``click_model`` and its position parameters (slates:
        docs/slates.md).
    Version History
        v0: RecoGym 0.1.3.0's model; ``rng='legacy'`` reproduces its draws.
    """

    model = "reco-gym-v0"

    @property
    def product_transition(self) -> np.ndarray:
        """The organic view transition matrix, (P, P)."""
        return np.asarray(self.simulation.static["view_transition"])

    @property
    def phi(self) -> np.ndarray:
        return np.asarray(self.simulation.static["phi"])

    @property
    def click_probs(self) -> np.ndarray:
        """The click probability of each recommendation after each view, (P, P)."""
        return np.asarray(self.simulation.static["click_table"])

    @property
    def initial_product_probs(self) -> np.ndarray:
        return np.full(self.simulation.num_products, 1.0 / self.simulation.num_products)


def slate_info(outcome: SlateOutcome) -> dict[str, Any]:
    """The ``info`` of a slate step: per position the clicks
    (``slate_clicks``), their true probabilities (``slate_click_probability``)
    and the products' click probabilities (``product_click_probability``), and
    the probability of any click (``click_probability``)."""
    return {"slate_clicks": outcome.position_clicks, "slate_click_probability": outcome.position_click_probability,
            "product_click_probability": outcome.product_click_probability,
            "click_probability": outcome.click_probability}


def make(env_id: str) -> RecoEnv:
    """A new, unconfigured env: ``make('reco-gym-v1')`` or ``make('reco-gym-v0')``.

    Call ``init_gym(args)`` on it before use, as with ``gym.make`` in RecoGym.
    """
    envs = {"reco-gym-v1": RecoEnv1, "reco-gym-v0": RecoEnv0}
    if not isinstance(env_id, str) or env_id not in envs:
        raise ValueError(f"unknown env id {env_id!r}; choose one of {ENV_IDS}")
    return envs[env_id]()


def _use_legacy_draws(agent: Any) -> None:
    # Imported here: recogym.agents loads scipy.sparse, which `import recogym` leaves for later.
    from ..agents.base import use_legacy_draws

    use_legacy_draws(agent)


#: 0.1.3.0's base class of the envs, by its old name.
AbstractEnv = RecoEnv
