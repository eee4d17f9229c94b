"""0.1.3.0's agent base classes, the ones third-party agents subclass.

RecoGym 0.1.3.0 agents were mostly written on these classes, and they run
on recogym unchanged:

* :class:`Agent` (recogym's own base class): ``act`` returns
  ``{'t': time, 'u': user}``, which subclasses complete with
  ``{**super().act(observation, reward, done), 'a': ..., 'ps': ...}``;
* :class:`ModelBuilder` collects the ``train`` steps in ``self.data``, a dict
  of lists keyed like the env's logs (``t``, ``u``, ``z``, ``v``, ``a``,
  ``c``, ``ps``), and :meth:`ModelBuilder.build` turns them into a
  ``(FeatureProvider, Model)`` pair;
* :class:`AbstractFeatureProvider` is a model builder whose
  :meth:`~AbstractFeatureProvider.train_data` gives, for every logged
  impression, the user's views before it, the action, the click and the
  propensity;
* :class:`FeatureProvider` and :class:`ViewsFeaturesProvider` follow one
  user's views while an agent acts; :class:`Model` acts on their features;
* :class:`ModelBasedAgent` ``(config, model_builder)`` trains the builder,
  builds the pair at its first ``act`` and acts with it.

Observations are the env's :class:`~recogym.Session` objects, which have
0.1.3.0's ``sessions()`` (dicts with ``t``, ``u``, ``z``, ``v``) and
``context()`` (``time()``, ``user()``); any object with those two methods
works, and ``None`` counts as an observation without views.

recogym's own model-fitting agents (``LogregPolyAgent`` and the others) are
batch agents built on :class:`recogym.agents.LogFittedAgent` instead, which
learns from columnar logs; this module is for code written for 0.1.3.0.

Differences from 0.1.3.0, on purpose:

* a view's age for ``weight_history_function`` is the impression's time
  (``observation.context().time()`` when acting) minus the view's time, in
  floating point; 0.1.3.0 first truncated both times to ``int16``, which is
  the same for the default generator's whole-number times but not for
  ``NormalTimeGenerator``'s, and overflowed after 32767;
* ``weight_history_function: None`` in the config means no weighting in
  :meth:`AbstractFeatureProvider.train_data` too (0.1.3.0 called ``None``);
* features and actions are float64 and int64 (0.1.3.0: int16 counts,
  float32 weighted sums, int16 actions, which overflow past 32767);
* an unimplemented method raises ``NotImplementedError`` (0.1.3.0's
  ``raise NotImplemented`` raised a ``TypeError``), and bad logged steps
  raise ``ValueError`` naming the row (0.1.3.0 asserted).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from tqdm import tqdm

from ..params import Configuration
from .base import Agent, context_of

# 0.1.3.0's module had no __all__, so ``from recogym.agents.abstract import *``
# also gave its imports; its own logreg_ips.py relied on getting ``np`` so.
__all__ = [
    "Agent",
    "ModelBuilder",
    "Model",
    "FeatureProvider",
    "AbstractFeatureProvider",
    "ModelBasedAgent",
    "ViewsFeaturesProvider",
    "views_before_impressions",
    "weighted_views",
    "math",
    "np",
    "pd",
    "sparse",
    "tqdm",
]

#: The keys of :attr:`ModelBuilder.data`, the columns of 0.1.3.0's logs.
DATA_KEYS = ("t", "u", "z", "v", "a", "c", "ps")

WeightHistoryFunction = Callable[[np.ndarray], Any]


def _as_config(config: Any) -> Any:
    """A dict becomes a :class:`~recogym.Configuration` (readable as
    attributes, as 0.1.3.0's code reads it); anything else is kept."""
    if config is None or isinstance(config, Mapping) and not isinstance(config, Configuration):
        return Configuration(config)
    return config


def _sessions(observation: Any) -> Sequence[Mapping[str, Any]]:
    if observation is None:
        return ()
    sessions = observation.sessions()
    return () if sessions is None else sessions


def _num_products(config: Any, owner: object) -> int:
    num_products = getattr(config, "num_products", None)
    if num_products is None:
        raise ValueError(f"{type(owner).__name__} needs config.num_products, and its config has none")
    return int(num_products)


def _weight_history_function(config: Any) -> WeightHistoryFunction | None:
    function: WeightHistoryFunction | None = getattr(config, "weight_history_function", None)
    if function is not None and not callable(function):
        raise TypeError(f"config.weight_history_function must be None or a function of an array of ages, "
                        f"got {function!r}")
    return function


def _action_field(action: Any, key: str, default: Any) -> Any:
    """``action[key]`` for 0.1.3.0's dicts and recogym's :class:`~recogym.Action`,
    else ``default`` (an Action without a time, a plain int)."""
    try:
        return action[key]
    except (KeyError, TypeError, IndexError):
        return default


def weighted_views(
    views: npt.ArrayLike,
    ages: npt.ArrayLike,
    weight_history_function: WeightHistoryFunction | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One user's views summed per product, each weighted by its age.

    Parameters
    ----------
    views : (m,) int array
        The viewed products, oldest first.
    ages : (m,) float array
        How long ago each view was; used only with a weight function.
    weight_history_function : callable or None
        Maps the array of ``ages`` (in view order, as 0.1.3.0 passed it) to
        as many weights; None counts every view as 1.

    Returns
    -------
    products : (k,) int64 array
        The distinct viewed products, ascending.
    totals : (k,) float64 array
        Their summed weights.

    Raises
    ------
    ValueError
        If the function does not return one weight per age.
    """
    views = np.asarray(views, dtype=np.int64)
    if not len(views):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    products, inverse = np.unique(views, return_inverse=True)
    if weight_history_function is None:
        weights = None
    else:
        ages = np.asarray(ages, dtype=np.float64)
        weights = np.asarray(weight_history_function(ages), dtype=np.float64)
        if weights.size != ages.size:
            raise ValueError(f"weight_history_function must map an array of ages to as many weights; it mapped "
                             f"shape {ages.shape} to {weights.shape}")
        weights = weights.reshape(ages.shape)
    return products, np.bincount(inverse.ravel(), weights, minlength=len(products))


def views_before_impressions(
    t: npt.ArrayLike,
    u: npt.ArrayLike,
    is_view: npt.ArrayLike,
    v: npt.ArrayLike,
    num_products: int,
    weight_history_function: WeightHistoryFunction | None = None,
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """For every impression of a log, the user's views before it: 0.1.3.0's
    ``train_data`` features.

    Users come in the order they first appear, each user's rows in the order
    given (0.1.3.0 grouped its DataFrame so). An impression's row holds every
    earlier view of the same user, across sessions; with a
    ``weight_history_function``, each view weighs
    ``weight_history_function(ages)`` where ``ages`` are the impression's time
    minus the times of those views, oldest first.

    Parameters
    ----------
    t, u : (n,) arrays
        Time and user of each row.
    is_view : (n,) bool array
        True on organic views, False on impressions.
    v : (n,) int array
        The viewed product, read on views only.
    num_products : int
    weight_history_function : callable, optional

    Returns
    -------
    rows : (m,) int64 array
        The impressions' row numbers, in the features' order.
    features : (m, num_products) float64 csr_matrix
    """
    t = np.asarray(t, dtype=np.float64)
    is_view = np.asarray(is_view, dtype=bool)
    v = np.asarray(v)
    codes, _ = pd.factorize(np.asarray(u), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    rows: list[int] = []
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    user = -1
    history_views: list[int] = []
    history_times: list[float] = []
    cached: tuple[np.ndarray, np.ndarray] | None = None
    for i in order.tolist():
        if codes[i] != user:
            user, history_views, history_times, cached = codes[i], [], [], None
        if is_view[i]:
            history_views.append(int(v[i]))
            history_times.append(float(t[i]))
            cached = None
            continue
        if weight_history_function is None:
            # The counts change only with a view: impressions in between share them.
            if cached is None:
                cached = weighted_views(history_views, (), None)
            products, totals = cached
        else:
            products, totals = weighted_views(history_views, t[i] - np.array(history_times),
                                              weight_history_function)
        rows.append(i)
        indices.append(products)
        data.append(totals)
        indptr.append(indptr[-1] + len(products))
    features = sparse.csr_matrix(
        (np.concatenate(data) if data else np.zeros(0),
         np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
         np.array(indptr)),
        shape=(len(rows), num_products))
    return np.array(rows, dtype=np.int64), features


class ModelBuilder:
    """Collects the ``train`` steps, then builds a feature provider and a model.

    Parameters
    ----------
    config : Configuration or dict
        Kept as ``self.config`` (a dict becomes a Configuration).

    Attributes
    ----------
    data : dict of lists
        One entry per event, keyed like the env's logs: ``t``, ``u``, ``z``
        (``'organic'`` or ``'bandit'``), ``v`` (the viewed product, None on
        impressions), ``a``, ``c``, ``ps`` (the action, its click and its
        propensity, None on views).
    """

    def __init__(self, config: Any) -> None:
        self.config = _as_config(config)
        self.data: dict[str, list[Any]] = {}
        self.reset()

    def train(self, observation: Any, action: Any, reward: Any, done: bool) -> None:
        """Add the views of ``observation``, then ``action`` and its click
        ``reward`` if there is an action.

        An action without a time or user (a recogym :class:`~recogym.Action`
        made by hand, a plain int) gets the observation's context: in
        0.1.3.0 the logging agent stamped its action with that context.
        """
        for session in _sessions(observation):
            self._append(session["t"], session["u"], "organic", session["v"], None, None, None)
        if action is None or isinstance(action, Mapping) and not action:
            return
        context = context_of(observation)
        self._append(_action_field(action, "t", context.get("t")), _action_field(action, "u", context.get("u")),
                     "bandit", None, _action_field(action, "a", action), reward, _action_field(action, "ps", 1.0))

    def _append(self, *values: Any) -> None:
        for key, value in zip(DATA_KEYS, values):
            self.data[key].append(value)

    def build(self) -> tuple[Any, Any]:
        """The ``(FeatureProvider, Model)`` pair fitted on :attr:`data`;
        subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement build()")

    def reset(self) -> None:
        """Forget all collected steps."""
        self.data = {key: [] for key in DATA_KEYS}


class Model:
    """What acts on a feature provider's features (built by a :class:`ModelBuilder`).

    :meth:`act` returns ``{'t', 'u'}`` of the observation's context, which
    subclasses complete with ``'a'``, ``'ps'`` and ``'ps-a'``.
    """

    def __init__(self, config: Any) -> None:
        self.config = _as_config(config)

    def act(self, observation: Any, features: Any) -> dict[str, Any]:
        return context_of(observation)

    def reset(self) -> None:
        pass


class FeatureProvider:
    """Follows one user's observations (:meth:`observe`) and turns them into
    the features a model acts on (:meth:`features`); :meth:`reset` starts the
    next user. Subclasses implement all three."""

    def __init__(self, config: Any) -> None:
        self.config = _as_config(config)

    def observe(self, observation: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement observe()")

    def features(self, observation: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement features()")

    def reset(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement reset()")


class AbstractFeatureProvider(ModelBuilder):
    """A :class:`ModelBuilder` whose :meth:`train_data` gives the logged
    impressions with the user's views before each.

    Parameters
    ----------
    config : Configuration or dict
        Needs ``num_products``; an optional ``weight_history_function`` maps
        an array of view ages to weights (see :func:`views_before_impressions`).
    is_sparse : bool
        :meth:`train_data` gives a csr_matrix rather than a dense array.
    """

    def __init__(self, config: Any, is_sparse: bool = False) -> None:
        super().__init__(config)
        self.is_sparse = is_sparse

    def train_data(self) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
        """``(features, actions, deltas, pss)``, one row per impression.

        Returns
        -------
        features : (n, num_products) float64 array, or csr_matrix if ``is_sparse``
            The user's views of each product before the impression, every
            earlier view counted (weighted, with ``weight_history_function``).
        actions : (n,) int64 array
        deltas : (n,) int64 array
            1 for a click, 0 otherwise.
        pss : (n,) float64 array
            The logging policy's propensities.

        Raises
        ------
        ValueError
            If an impression lacks its action or click, or a time is missing
            where a ``weight_history_function`` needs it.
        """
        num_products = _num_products(self.config, self)
        weight_history_function = _weight_history_function(self.config)
        data = self.data
        is_view = np.array([z == "organic" for z in data["z"]], dtype=bool)
        impressions = np.flatnonzero(~is_view)
        for i in impressions.tolist():
            if data["a"][i] is None or data["c"][i] is None or _is_nan(data["a"][i]) or _is_nan(data["c"][i]):
                raise ValueError(f"{type(self).__name__}.data row {i} is an impression without its action or "
                                 f"click (a={data['a'][i]!r}, c={data['c'][i]!r}): train() got an action with "
                                 f"reward None")
        times = np.array([math.nan if time is None else float(time) for time in data["t"]])
        if weight_history_function is not None and not np.isfinite(times).all():
            raise ValueError(f"{type(self).__name__}: weight_history_function needs the time of every event, and "
                             f"data['t'] has {int((~np.isfinite(times)).sum())} missing")
        views = np.array([-1 if view is None else int(view) for view in data["v"]], dtype=np.int64)
        rows, features = views_before_impressions(times, np.array(data["u"], dtype=object), is_view, views,
                                                  num_products, weight_history_function)
        actions = np.array([int(data["a"][i]) for i in rows.tolist()], dtype=np.int64)
        deltas = np.array([int(data["c"][i]) for i in rows.tolist()], dtype=np.int64)
        pss = np.array([float(data["ps"][i]) for i in rows.tolist()], dtype=np.float64)
        return (features if self.is_sparse else features.toarray()), actions, deltas, pss


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class ModelBasedAgent(Agent):
    """An agent that acts with the model its :class:`ModelBuilder` builds.

    ``train`` hands every step to the builder; the first ``act`` builds the
    ``(feature provider, model)`` pair from what was collected; every
    ``act`` then lets the feature provider observe and the model act on its
    features, returning ``{'t', 'u'}`` merged with the model's dict.

    Parameters
    ----------
    config : Configuration or dict
    model_builder : ModelBuilder
    """

    def __init__(self, config: Mapping[str, Any] | None, model_builder: ModelBuilder) -> None:
        super().__init__(config)
        self.model_builder = model_builder
        self.feature_provider: Any = None
        self.model: Any = None

    def train(self, observation: Any, action: Any, reward: Any, done: bool = False) -> None:
        self.model_builder.train(observation, action, reward, done)

    def act(self, observation: Any, reward: Any, done: bool) -> dict[str, Any]:
        if self.model is None:
            self.feature_provider, self.model = self.model_builder.build()
        self.feature_provider.observe(observation)
        return {
            **super().act(observation, reward, done),
            **self.model.act(observation, self.feature_provider.features(observation)),
        }

    def reset(self) -> None:
        if self.model is not None:
            self.feature_provider.reset()
            self.model.reset()


class ViewsFeaturesProvider(FeatureProvider):
    """The user's views of each product so far, as a ``(1, num_products)`` row.

    With a ``weight_history_function`` in the config, each view weighs
    ``weight_history_function(ages)``, ``ages`` being the observation's
    ``context().time()`` minus the views' times, oldest first.

    Parameters
    ----------
    config : Configuration or dict
        Needs ``num_products``.
    is_sparse : bool
        Return a scipy sparse row (lil_matrix, or coo_matrix when weighted)
        rather than a dense array.

    Notes
    -----
    Without weights, :meth:`features` returns the provider's own counts
    (0.1.3.0 did so too): copy it before changing it in place.
    """

    def __init__(self, config: Any, is_sparse: bool = False) -> None:
        super().__init__(config)
        self.is_sparse = is_sparse
        self.num_products = _num_products(self.config, self)
        self.weight_history_function = _weight_history_function(self.config)
        self.with_history = self.weight_history_function is not None
        self.reset()

    def observe(self, observation: Any) -> None:
        for session in _sessions(observation):
            if self.with_history:
                self.history_views.append(int(session["v"]))
                self.history_times.append(float(session["t"]))
            else:
                self.views[0, int(session["v"])] += 1

    def features(self, observation: Any) -> Any:
        if not self.with_history:
            return self.views
        if observation is None:
            raise ValueError(f"{type(self).__name__} with a weight_history_function needs the observation's "
                             f"context().time() to age the views, got observation None")
        ages = float(observation.context().time()) - np.array(self.history_times, dtype=np.float64)
        products, totals = weighted_views(self.history_views, ages, self.weight_history_function)
        row = sparse.coo_matrix((totals, (np.zeros(len(products), dtype=np.int64), products)),
                                shape=(1, self.num_products))
        return row if self.is_sparse else row.toarray()

    def reset(self) -> None:
        self.history_views: list[int] = []
        self.history_times: list[float] = []
        self.views: Any = (sparse.lil_matrix((1, self.num_products)) if self.is_sparse
                           else np.zeros((1, self.num_products)))
