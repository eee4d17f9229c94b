"""0.1.3.0's LogregPolyAgent: a click model on views crossed with actions."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import sparse

from ..logs import EventKind, Logs
from ..session import Action, Session, SlateAction
from ._args import (
    check_flag,
    check_known_args,
    check_positive,
    check_positive_integer,
    with_defaults,
)
from ._optional import require
from ._policy import greedy
from .abstract import views_before_impressions, weighted_views
from .base import UserBatch
from .features import impression_features
from .model_based import LogFittedAgent

__all__ = ["LogregPolyAgent", "logreg_poly_args", "cross_features"]

logreg_poly_args = {
    "num_products": 10,
    "random_seed": 42,
    # Weight each impression by 1 / propensity.
    "with_ips": False,
    # Cap those weights at ips_clipping_value.
    "ips_with_clipping": False,
    "ips_clipping_value": 10,
    "solver": "lbfgs",
    "max_iter": 5000,
    # Maps an array of view ages (the impression's time minus each view's
    # time, oldest first) to weights; None counts every view as 1.
    "weight_history_function": None,
    "with_ps_all": False,
}

# 0.1.3.0's args that recogym keeps only at their 0.1.3.0 default values.
_LEGACY_ARGS = {
    # 0.1.3.0 ignored it: its features were always of degree 2.
    "poly_degree": 2,
    # True weighed out every impression without a click, which leaves a click
    # model nothing to contrast them with.
    "ips_numerator_is_delta": False,
}


def cross_features(views: sparse.csr_matrix, actions: np.ndarray, num_products: int) -> sparse.csr_matrix:
    """The likelihood model's design matrix: ``[views, one_hot(action),
    views (x) one_hot(action)]``, with the cross term of view ``p`` and action
    ``a`` in column ``2P + a * P + p``, as 0.1.3.0's ``SparsePolynomialFeatures``
    had them. (Its action block held the action's index, not 1: action 0 had
    no column of its own, and the others' penalties shrank with their index.)

    Parameters
    ----------
    views : (n, P) csr_matrix
    actions : (n,) int array
    num_products : int

    Returns
    -------
    (n, 2P + P**2) csr_matrix
    """
    n = len(actions)
    one_hot = sparse.csr_matrix((np.ones(n), (np.arange(n), actions)), shape=(n, num_products))
    shift = np.repeat(np.asarray(actions, dtype=np.int64) * num_products, np.diff(views.indptr))
    cross = sparse.csr_matrix((views.data, views.indices + shift, views.indptr),
                              shape=(n, num_products * num_products))
    return sparse.hstack([views, one_hot, cross], format="csr")


class _UnlessWeighted:
    """A :class:`~recogym.agents.BatchAgent` method that a LogregPolyAgent
    with a ``weight_history_function`` lacks.

    A :class:`UserBatch` carries view counts but neither the views' times
    nor the time now, which age the views; such an agent acts per user with
    ``act`` (``test_agent`` then takes that path), and ``policy`` is refused
    rather than answered from unweighted counts.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: LogregPolyAgent | None, owner: type | None = None) -> Callable[..., Any]:
        if agent is not None and agent.weight_history_function is not None:
            raise AttributeError(f"{self.name} is unavailable with a weight_history_function: a UserBatch has no "
                                 "view times, so this agent acts per user with act()")
        method: Callable[..., Any] = getattr(LogregPolyAgent, "_batch_" + self.name).__get__(agent, owner)
        return method


class LogregPolyAgent(LogFittedAgent):
    """Models the click probability of each action given the user's views,
    and recommends the most likely click.

    A logistic regression (scikit-learn) of the click of every logged
    impression on :func:`cross_features` of the user's view counts and the
    action, optionally weighted by inverse propensity (``with_ips``),
    clipped at ``ips_clipping_value`` (``ips_with_clipping``) and scaled to
    mean 1 (0.1.3.0 did not scale, so its regularisation weakened with P). For a user,
    only the action terms differ between actions, so the best action is
    ``argmax(action_coef + cross_coef @ view_counts)``, for the whole batch
    in one product. The choice is deterministic (propensity 1). Until it has
    seen both clicks and misses it recommends the lowest product index.
    With ``ips_with_clipping`` the weights are ``min(1 / ps,
    ips_clipping_value)``; 0.1.3.0 clipped ``click / ps`` instead, which
    dropped every unclicked impression whatever ``ips_numerator_is_delta``.

    Parameters
    ----------
    config : dict or Configuration
        :data:`logreg_poly_args`, which missing keys default to. Other keys
        are refused, except the env's args (0.1.3.0's notebooks passed one
        dict to both) and 0.1.3.0's ``poly_degree`` and
        ``ips_numerator_is_delta`` at their defaults (2 and False: 0.1.3.0
        ignored the first, and the second weighs out every impression
        without a click, leaving a click model nothing to contrast).

        ``weight_history_function``, as in 0.1.3.0, replaces the view counts
        by weighted sums: at an impression, the user's earlier views weigh
        ``weight_history_function(ages)``, ``ages`` being the impression's
        time minus the views' times (an array, oldest first, called once per
        impression). When acting, the impression's time is the
        observation's ``context().time()``. A :class:`UserBatch` has no
        times, so such an agent has no ``act_batch`` nor ``policy`` and is
        served user by user; pass a picklable function (not a lambda) to
        pickle it.

    Attributes
    ----------
    action_coef : (P,) float64 array
    cross_coef : (P, P) float64 array
        Indexed by action, then viewed product.

    Raises
    ------
    ValueError
        For an unknown arg, naming it and the allowed ones.
    ImportError
        When training, if scikit-learn is missing: ``pip install recogym[sklearn]``.
    """

    act_batch = _UnlessWeighted()
    policy = _UnlessWeighted()

    def __init__(self, config: Mapping[str, Any] | None = logreg_poly_args) -> None:
        config = with_defaults(logreg_poly_args, config)
        check_known_args(config, [*logreg_poly_args, *_LEGACY_ARGS], type(self).__name__)
        for name, value in _LEGACY_ARGS.items():
            if name in config and config[name] != value:
                raise ValueError(f"agent arg {name!r} must be {value!r} (0.1.3.0's default, the only value "
                                 f"recogym keeps), got {config[name]!r}")
        weight_history_function = config["weight_history_function"]
        if weight_history_function is not None and not callable(weight_history_function):
            raise TypeError(f"agent arg 'weight_history_function' must be None or a function of an array of "
                            f"ages, got {weight_history_function!r}")
        self.weight_history_function: Callable[[np.ndarray], Any] | None = weight_history_function
        super().__init__(config)
        self.with_ips = check_flag(self.config, "with_ips")
        self.ips_with_clipping = check_flag(self.config, "ips_with_clipping")
        self.ips_clipping_value = check_positive(self.config, "ips_clipping_value")
        self.max_iter = check_positive_integer(self.config, "max_iter")
        self.action_coef = np.zeros(self.num_products)
        self.cross_coef = np.zeros((self.num_products, self.num_products))

    def fit(self, logs: Logs) -> None:
        linear_model = require("sklearn.linear_model", type(self).__name__)
        threadpoolctl = require("threadpoolctl", type(self).__name__)
        self.action_coef = np.zeros(self.num_products)
        self.cross_coef = np.zeros((self.num_products, self.num_products))
        if self.weight_history_function is None:
            shown = impression_features(logs, self.num_products, dense=False)
            views, actions, clicks, propensities = shown.views, shown.actions, shown.clicks, shown.propensities
        else:
            if not np.isfinite(logs.t).all():
                raise ValueError("LogregPolyAgent's weight_history_function needs the time of every logged event, "
                                 "but some have none")
            rows, views = views_before_impressions(logs.t, logs.u, logs.z == EventKind.ORGANIC, logs.v,
                                                   self.num_products, self.weight_history_function)
            actions = logs.a[rows].astype(np.int64)
            clicks = logs.c[rows].astype(np.float64)
            propensities = logs.ps[rows].astype(np.float64)
        if len(np.unique(clicks)) < 2:
            return
        weights = None
        if self.with_ips:
            weights = 1.0 / propensities
            if self.ips_with_clipping:
                weights = np.minimum(weights, self.ips_clipping_value)
            # Scaled to mean 1, so the regularisation means the same whatever
            # the logging policy's propensities.
            weights = weights / weights.mean()
        model = linear_model.LogisticRegression(solver=self.config["solver"], max_iter=self.max_iter,
                                                random_state=self.random_seed)
        # One BLAS thread: on problems this small more threads only contend,
        # which made fits 10-100 times slower on a busy two-core machine.
        with threadpoolctl.threadpool_limits(1):
            model.fit(cross_features(views, actions, self.num_products), clicks, sample_weight=weights)
        P = self.num_products
        coef = model.coef_[0]
        self.action_coef = coef[P:2 * P].copy()
        self.cross_coef = coef[2 * P:].reshape(P, P).copy()

    def _batch_policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        return greedy(np.asarray(batch.view_counts, dtype=np.float64) @ self.cross_coef.T + self.action_coef)

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by the model's click logit for the user's views."""
        if self.weight_history_function is not None:
            raise ValueError("LogregPolyAgent with a weight_history_function ranks per user through act()")
        self.fit_pending()
        scores: np.ndarray = np.asarray(batch.view_counts, dtype=np.float64) @ self.cross_coef.T + self.action_coef
        return scores

    def _batch_act_batch(self, batch: UserBatch) -> tuple[np.ndarray, np.ndarray]:
        return super().act_batch(batch)

    def batch_acts_like_act(self) -> bool:
        return self.weight_history_function is None  # act is then BatchAgent's

    # -- the per-user path of a weight_history_function ----------------------

    def act(self, observation: Session | None, reward: int | None, done: bool) -> Any:
        """The most likely click for this user; with a
        ``weight_history_function``, on the views weighted by their age at
        ``observation.context().time()``."""
        if self.weight_history_function is None:
            return super().act(observation, reward, done)
        if observation is None:
            raise ValueError("LogregPolyAgent with a weight_history_function needs the observation's "
                             "context().time() to age the views, got observation None")
        self._observe(observation)
        self.fit_pending()
        now = float(observation.context().time())
        products, totals = weighted_views(self._view_history, now - np.array(self._time_history),
                                          self.weight_history_function)
        views = np.zeros(self.num_products)
        views[products] = totals
        logits = self.cross_coef @ views + self.action_coef
        self._user_step += 1
        if self.slate_size > 1:
            ones = np.ones(self.slate_size)
            ranking = np.argsort(-logits, kind="stable")[:self.slate_size]
            return SlateAction(ranking, 1.0, ones, ones)
        probabilities = greedy(logits[None, :])[0]
        action = int(np.argmax(probabilities))
        return Action(action, 1.0, probabilities)

    def reset(self) -> None:
        super().reset()
        self._view_history: list[int] = []
        self._time_history: list[float] = []

    def _observe(self, observation: Session | None) -> None:
        super()._observe(observation)
        if self.weight_history_function is not None and observation:
            views = observation.get_views()
            if len(observation.times) != len(views):
                raise ValueError("LogregPolyAgent with a weight_history_function needs the time of every view, "
                                 "and this observation has none")
            self._view_history.extend(views)
            self._time_history.extend(observation.times)
