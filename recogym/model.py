"""A configured model: its fixed parameters, drawn once per ``random_seed``,
and the :class:`Simulation` value every :class:`~recogym._core.Engine` is
built from.

reco-gym-v1 (latent factors): a user is a vector ``omega`` of size K. Organic
views follow ``softmax(Gamma @ omega + mu_organic)``; the click probability of
product ``a`` is ``ff(beta[a] @ omega + mu_bandit[a])``; ``beta`` is ``Gamma``
with ``number_of_flips`` pairs of similar products swapped.

reco-gym-v0 (clusters): products fall into ``num_clusters`` equal clusters;
views move uniformly within the viewed product's cluster, and the click
probability of product ``a`` after viewing ``v`` is
``sigmoid(P / 5 * (T + T.T)[a, v] + phi[a, v] - 5)``.

Both models may add post-click landing (env arg ``organic_after_click``:
the session after a click starts with a view of the clicked product) and
v1 conversions (``with_conversions``: a click on ``a`` converts with
probability ``psale_scale * sigmoid(Lambda[a] @ delta)``, ``delta`` the
user's purchase state, which each click moves towards ``Lambda[a]``); see
docs/model.md.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from .params import TIME_GENERATOR_OBJECT, Configuration, expected_events
from .time_generators import LegacyStream, legacy_mt19937

__all__ = ["Simulation", "LegacyStream", "StaticParameters", "build_static", "transition_cdf", "transition_matrix",
           "expected_events_per_user", "legacy_mt19937", "STATIC_STREAM", "slate_parameters",
           "examination_probabilities"]

#: Philox key word that the default mode's fixed parameters are drawn with;
#: user ids are below 2**63, so it never names a user.
STATIC_STREAM = 2**64 - 1

StaticParameters = dict[str, Any]


def transition_matrix(config: Configuration) -> np.ndarray:
    """The organic/bandit/stop chain's 3 x 3 matrix (0.1.3.0's ``state_transition``)."""
    # 0.1.3.0 uses prob_leave_organic in the bandit row too; legacy mode keeps it.
    leave_bandit = config.prob_leave_organic if config.rng == "legacy" else config.prob_leave_bandit
    rows = np.array([
        [0.0, config.prob_organic_to_bandit, config.prob_leave_organic],
        [config.prob_bandit_to_organic, 0.0, leave_bandit],
        [0.0, 0.0, 1.0],
    ])
    rows[0, 0] = 1 - sum(rows[0, :])
    rows[1, 1] = 1 - sum(rows[1, :])
    return rows


def transition_cdf(config: Configuration) -> np.ndarray:
    """Cumulative rows of the organic/bandit/stop chain, normalised as
    ``RandomState.choice`` normalises them."""
    return np.array([_choice_cdf(row) for row in transition_matrix(config)])


def expected_events_per_user(cdf: np.ndarray) -> tuple[float, float]:
    """Expected events of a whole user and of a first organic session, from
    the chain's cumulative rows (``transition_cdf``): see
    :func:`recogym.params.expected_events`."""
    (_, organic_to_bandit, leave_organic), (bandit_to_organic, _, leave_bandit) = \
        np.diff(cdf, axis=1, prepend=0.0)[:2].tolist()
    return expected_events(organic_to_bandit, leave_organic, bandit_to_organic, leave_bandit)


def _choice_cdf(p: np.ndarray) -> np.ndarray:
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return cdf


def _static_normals(config: Configuration) -> Callable[[float, tuple[int, ...]], np.ndarray]:
    """A function drawing ``scale * N(0, 1)`` arrays for the fixed parameters."""
    if config.rng == "legacy":
        state = np.random.RandomState(config.random_seed)
        return lambda scale, shape: state.normal(0, scale, size=shape)
    generator = np.random.Generator(np.random.Philox(key=np.array([config.random_seed, STATIC_STREAM], dtype=np.uint64)))
    return lambda scale, shape: scale * generator.standard_normal(shape)


def build_static(model: str, config: Configuration) -> StaticParameters:
    """Draw the fixed parameters of ``model`` for ``config.random_seed``."""
    normals = _static_normals(config)
    P = config.num_products
    if model == "reco-gym-v1":
        gamma = normals(1.0, (P, config.K))
        mu_organic = normals(config.sigma_mu_organic, (P, 1))
        static = {"gamma": gamma, "mu_organic": mu_organic.ravel(),
                  **bandit_parameters(config, gamma, mu_organic, config.number_of_flips)}
        if config.get("with_conversions", False):
            # Drawn after the others, so that they stay what they are without conversions.
            static["sale_embeddings"] = normals(config.sigma_Lambda, (P, config.K))
        return static
    from scipy.special import expit  # 0.1.3.0's sigmoid; imported here, where it is used

    ratio = P // config.num_clusters
    within = np.kron(np.eye(config.num_clusters), np.ones((ratio, ratio)))
    view_transition = within / np.kron(within.sum(1), np.ones((P, 1))).T
    phi = normals(np.sqrt(config.phi_var), (P, P))
    click_table = expit(P / 5.0 * (view_transition + view_transition.T) + phi - 5)
    return {"view_transition": view_transition, "phi": phi, "click_table": click_table}


def bandit_parameters(config: Configuration, gamma: np.ndarray, mu_organic: np.ndarray,
                      number_of_flips: int) -> StaticParameters:
    """``beta`` and ``mu_bandit``: the organic parameters with
    ``number_of_flips`` pairs swapped, normalised if ``normalize_beta``."""
    beta, mu_bandit = _flip(gamma, mu_organic.reshape(-1, 1), number_of_flips)
    if config.normalize_beta:
        beta = beta / np.sqrt((beta**2).sum(1)[:, np.newaxis])
    return {"beta": beta, "mu_bandit": mu_bandit.ravel()}


def _flip(gamma: np.ndarray, mu_organic: np.ndarray, number_of_flips: int) -> tuple[np.ndarray, np.ndarray]:
    """Swap the bandit parameters of the ``number_of_flips`` most correlated
    pairs of products (0.1.3.0's ``generate_beta``)."""
    if number_of_flips == 0:
        return gamma, mu_organic
    P = gamma.shape[0]
    index = np.arange(P)
    product_cov = gamma @ gamma.T
    product_cov = product_cov - np.diag(np.diag(product_cov))
    used: set[int] = set()
    flips = 0
    for flat in product_cov.flatten().argsort()[::-1]:
        i, j = int(flat // P), int(flat % P)
        if i in used or j in used:
            continue
        index[i], index[j] = j, i
        used.update((i, j))
        flips += 1
        if flips == number_of_flips:
            break
    return gamma[index, :], mu_organic[index, :]


def slate_parameters(config: Configuration) -> dict[str, Any]:
    """The engine's slate parameters: ``slate_size``, the click model's code,
    the examination probability of each position (PBM) and the cascade's
    continuation probability, from resolved env args."""
    k = int(config.get("slate_size", 1))
    return {
        "slate_size": k,
        "click_model": _core.CASCADE_CLICK_MODEL if config.get("click_model") == "cascade" else _core.PBM_CLICK_MODEL,
        "examination": examination_probabilities(config),
        "cascade_continuation": float(config.get("cascade_continuation", 1.0)),
    }


def examination_probabilities(config: Configuration) -> np.ndarray:
    """The PBM examination probability of each of the ``slate_size``
    positions: the env arg ``examination``, else ``position_decay ** j``,
    else ``1 / (1 + j)``."""
    k = int(config.get("slate_size", 1))
    if config.get("examination") is not None:
        return np.ascontiguousarray(config.examination, dtype=np.float64)
    if config.get("position_decay") is not None:
        return np.array([float(config.position_decay) ** j for j in range(k)])
    return np.array([1.0 / (1.0 + j) for j in range(k)])


@dataclass(frozen=True)
class Simulation:
    """One configured model, ready to run: what every engine is built from.

    Attributes
    ----------
    model : str
        ``'reco-gym-v1'`` or ``'reco-gym-v0'``.
    config : Configuration
        The resolved env arguments.
    static : dict
        The model's fixed parameters, drawn once per ``random_seed``.
    epoch : int
        Shifts the seed of the users' draws (not of the fixed parameters),
        as 0.1.3.0's ``reset_random_seed(epoch)`` does.
    time_stream : LegacyStream or None
        Legacy mode's normal time generator: its own stream, which outlives
        reseeding, shared by every engine of this simulation.
    """

    model: str
    config: Configuration
    static: StaticParameters
    epoch: int = 0
    time_stream: LegacyStream | None = None

    @classmethod
    def create(cls, model: str, config: Configuration) -> Simulation:
        """The simulation of resolved ``config``: its fixed parameters drawn.

        Raises
        ------
        MemoryError
            If the fixed parameters do not fit in memory, naming the sizes.
        """
        time_stream = None
        if config.rng == "legacy" and config.time_generator == "normal":
            # A generator object's own stream, as 0.1.3.0's own RandomState: never reseeded by the env.
            generator = config.get(TIME_GENERATOR_OBJECT)
            time_stream = generator.stream if generator is not None else LegacyStream(config.random_seed)
        try:
            static = build_static(model, config)
        except MemoryError:
            sizes = (f"num_products={config.num_products}, K={config.K}" if model == "reco-gym-v1"
                     else f"num_products={config.num_products} (the cluster model keeps P x P tables)")
            raise MemoryError(f"the fixed parameters of {model} with {sizes} do not fit in memory: lower "
                              f"{'num_products or K' if model == 'reco-gym-v1' else 'num_products'}") from None
        return cls(model, config, static, 0, time_stream)

    def reseeded(self, epoch: int) -> Simulation:
        """The same model with the users' draws seeded by ``random_seed + epoch``."""
        return dataclasses.replace(self, epoch=epoch)

    def flipped(self, number_of_flips: int) -> Simulation:
        """The same model (v1) with its bandit parameters made anew from the
        organic ones with ``number_of_flips`` flips (0.1.3.0's ``generate_beta``)."""
        static = self.static
        bandit = bandit_parameters(self.config, static["gamma"], static["mu_organic"], number_of_flips)
        return dataclasses.replace(self, static={**static, **bandit})

    @property
    def num_products(self) -> int:
        return int(self.config.num_products)

    @property
    def legacy(self) -> bool:
        return bool(self.config.rng == "legacy")

    @property
    def landing(self) -> bool:
        """Whether the session after a click starts at the clicked product
        (env arg ``organic_after_click='clicked'``)."""
        return bool(self.config.get("organic_after_click", "drawn") == "clicked")

    @property
    def conversions(self) -> bool:
        """Whether clicks may convert (env arg ``with_conversions``)."""
        return bool(self.config.get("with_conversions", False))

    def engine(self, num_slots: int = 1, *, count_views: bool = False, count_steps: bool = False,
               state: dict[str, Any] | None = None) -> _core.Engine:
        """An engine with ``num_slots`` empty user slots; with ``count_views``
        it counts each user's views of each product since arrival, with
        ``count_steps`` their recommendations. ``state``: another engine's
        state, to go on from (an engine of the same shapes)."""
        config, static, model = self.config, self.static, self.model
        P, K = config.num_products, (config.K if model == "reco-gym-v1" else 0)
        empty_matrix = np.zeros((0, 0))
        empty_vector = np.zeros(0)
        conversions = self.conversions
        time_kind = {"default": _core.DEFAULT_TIME, "normal": _core.NORMAL_TIME,
                     "custom": _core.CUSTOM_TIME}[config.time_generator]
        time_source = config.get(TIME_GENERATOR_OBJECT) if time_kind == _core.CUSTOM_TIME else None
        if time_source is not None and num_slots > 1:
            raise ValueError("a time generator object (env arg 'time_generator') is called back one event at a "
                             "time, so it runs in the one-user envs only (RecoEnv, the Gymnasium env); use "
                             "'default' or 'normal' for batches, vector envs and parallel logs")
        params = {
            "model": _core.LATENT_MODEL if model == "reco-gym-v1" else _core.CLUSTER_MODEL,
            "legacy": self.legacy,
            "time_kind": time_kind,
            "change_omega_for_bandits": bool(config.get("change_omega_for_bandits", False)),
            "num_products": P,
            "K": K,
            "random_seed": config.random_seed + self.epoch,
            "sigma_omega": float(config.get("sigma_omega", 0.0)),
            "sigma_omega_initial": float(config.get("sigma_omega_initial", 0.0)),
            "normal_time_mu": float(config.get("normal_time_mu", 0.0)),
            "normal_time_sigma": float(config.get("normal_time_sigma", 0.0)),
            "transition_cdf": transition_cdf(config),
            "gamma_t": np.ascontiguousarray(static.get("gamma", empty_matrix).T),
            "mu_organic": static.get("mu_organic", empty_vector),
            "beta": np.ascontiguousarray(static.get("beta", empty_matrix)),
            "mu_bandit": np.ascontiguousarray(static.get("mu_bandit", empty_vector)),
            "initial_view_cdf": _choice_cdf(np.ones(P) / P) if model == "reco-gym-v0" else empty_vector,
            "view_cdf": (np.array([_choice_cdf(row) for row in static["view_transition"]])
                         if model == "reco-gym-v0" else empty_matrix),
            "click_table": static.get("click_table", empty_matrix),
            "landing": self.landing,
            "conversions": conversions,
            "kappa": float(config.get("kappa", 0.0)) if conversions else 0.0,
            "psale_scale": float(config.get("psale_scale", 0.0)) if conversions else 0.0,
            "sale_embeddings": np.ascontiguousarray(static.get("sale_embeddings", empty_matrix)),
            **slate_parameters(config),
        }
        fresh_state = {
            "markov_state": np.full(num_slots, _core.EMPTY_SLOT, dtype=np.int8),
            "user_id": np.zeros(num_slots, dtype=np.int64),
            "time": np.zeros(num_slots),
            "next_time": np.zeros(num_slots),
            "omega": np.zeros((num_slots, K)),
            "last_view": np.zeros(num_slots, dtype=np.int64),
            "stream_position": np.zeros((num_slots, 2), dtype=np.uint64),
            "omega_epoch": np.zeros(num_slots, dtype=np.uint64),
            "landing_view": np.full(num_slots, -1, dtype=np.int64),
            "purchase_state": np.zeros((num_slots, K) if conversions else (0, 0)),
            "view_counts": np.zeros((num_slots, P) if count_views else (0, 0)),
            "steps": np.zeros(num_slots if count_steps else 0, dtype=np.int64),
            "main_stream": LegacyStream(config.random_seed + self.epoch) if self.legacy else None,
            "time_stream": self.time_stream,
            "time_source": time_source,
        }
        return _core.Engine(params, fresh_state if state is None else state)
