"""0.1.3.0's BayesianAgentVB: Bayesian logistic regression of clicks on
(views x action) features, fitted by variational Bayes.

A logged impression with view counts ``x`` (P,) and action ``a`` has the
features ``psi = kron(x, e_a)`` (P^2,): ``x[i]`` at ``i * P + a``. Clicks
follow ``P(click) = sigmoid(psi . beta)`` with the prior ``beta ~ N(-6,
kron(K, K))``, ``K = aa * I + bb * ones``. The posterior is approximated by
the Gaussian of Jaakkola and Jordan's bound (Ormerod and Wand, *Explaining
Variational Approximations*, 2010, Algorithm 6). The agent recommends the
product of highest posterior mean click probability, with propensity 1.

numpy and scipy only: no pystan, no torch.
"""
from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.special

from .. import _checks
from ..params import Configuration
from .abstract import (
    AbstractFeatureProvider,
    Model,
    ModelBasedAgent,
    ViewsFeaturesProvider,
)

__all__ = [
    "PRIOR_MEAN",
    "BayesianAgentVB",
    "BayesianFeaturesProviderVB",
    "BayesianModelBuilderVB",
    "BayesianRegressionModelVB",
    "VBPosterior",
    "action_features",
    "bayesian_logistic",
    "bayesian_poly_args",
    "click_probabilities",
    "jaakkola_jordan",
]

#: 0.1.3.0's name for this agent's arguments (shared with its pystan
#: ``BayesianAgent``, which recogym does not have).
bayesian_poly_args: dict[str, Any] = {
    "num_products": 10,
    # Unused: the fit and the act are deterministic (0.1.3.0 drew this seed
    # at import and never used it).
    "random_seed": 42,
    # Unused, as in 0.1.3.0: the features are always views x action.
    "poly_degree": 2,
    # The most variational updates; they stop earlier once converged.
    "max_iter": 5000,
    # The prior covariance kron(K, K) with K = aa * I + bb * ones.
    "aa": 1.0,
    "bb": 1.0,
    "with_ps_all": False,
}

#: The prior mean of every coefficient: clicks are rare.
PRIOR_MEAN = -6.0

# The updates have converged when no zeta moves by more than this.
_TOLERANCE = 1e-10

# Gauss-Hermite nodes for E[sigmoid(m + s Z)], Z ~ N(0, 1).
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


def jaakkola_jordan(zeta: np.ndarray) -> np.ndarray:
    """``lambda(zeta) = tanh(zeta / 2) / (4 zeta)``, 1/8 at 0: the curvature
    of Jaakkola and Jordan's quadratic bound on ``log sigmoid``."""
    zeta = np.abs(np.asarray(zeta, dtype=np.float64))
    small = zeta < 1e-6
    safe = np.where(small, 1.0, zeta)
    return np.where(small, 0.125 - zeta**2 / 96.0, np.tanh(safe / 2.0) / (4.0 * safe))


def action_features(features: Any, actions: np.ndarray, num_products: int) -> scipy.sparse.csr_matrix:
    """The rows ``kron(x_n, e_{a_n})`` (N, P^2) of features ``x`` (N, P) and
    actions ``a`` (N,), sparse: 0.1.3.0's ``XA``."""
    x = scipy.sparse.csr_matrix(features, dtype=np.float64)
    n = x.shape[0]
    rows = np.repeat(np.arange(n), np.diff(x.indptr))
    columns = x.indices.astype(np.int64) * num_products + np.asarray(actions, dtype=np.int64)[rows]
    return scipy.sparse.csr_matrix((x.data, (rows, columns)), shape=(n, num_products**2))


def prior_covariance(num_products: int, aa: float, bb: float) -> np.ndarray:
    """``kron(K, K)`` with ``K = aa * I + bb * ones`` (P^2, P^2)."""
    k = aa * np.eye(num_products) + bb
    return np.kron(k, k)


@dataclass(frozen=True)
class VBPosterior:
    """The Gaussian approximation ``N(mean, covariance)`` of the coefficients'
    posterior, indexed like :func:`action_features`' columns.

    Attributes
    ----------
    mean : (P^2,) array
    covariance : (P^2, P^2) array
    bound : float
        Jaakkola and Jordan's lower bound on the log evidence at the optimum.
    iterations : int
        The variational updates computed.
    converged : bool
        Whether they stopped moving before ``max_iter``.
    """

    mean: np.ndarray
    covariance: np.ndarray
    bound: float
    iterations: int
    converged: bool


class _Design:
    """The impressions grouped by action, identical (views, action) rows
    merged with their count and clicks: the bound depends on no more."""

    def __init__(self, features: Any, actions: Any, clicks: Any, num_products: int) -> None:
        x = features.toarray() if scipy.sparse.issparse(features) else np.asarray(features, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64).reshape(-1, num_products)
        a = np.asarray(actions, dtype=np.int64).ravel()
        y = np.asarray(clicks, dtype=np.float64).ravel()
        if not (len(a) == len(y) == len(x)):
            raise ValueError(f"features, actions and clicks must have as many rows, got {len(x)}, {len(a)}, {len(y)}")
        if len(a) and (a.min() < 0 or a.max() >= num_products):
            raise ValueError(f"actions must be in [0, {num_products})")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("clicks must be 0 or 1")
        keep = (x != 0).any(axis=1)  # a row without views adds nothing but a constant to the bound
        self.num_products = num_products
        self.views: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        # (P, P) [view i, action a]: sum over a's rows of (clicks - count / 2) * x_i.
        self.response = np.zeros((num_products, num_products))
        for action in range(num_products):
            rows = keep & (a == action)
            unique, inverse, counts = np.unique(x[rows], axis=0, return_inverse=True, return_counts=True)
            clicked = np.bincount(inverse.ravel(), y[rows], minlength=len(unique))
            self.views.append(unique)
            self.counts.append(counts.astype(np.float64))
            self.response[:, action] = unique.T @ (clicked - counts / 2.0)

    def second_moments(self, mean: np.ndarray, cov: np.ndarray) -> list[np.ndarray]:
        """``E[(psi . beta)^2]`` of every merged row, per action."""
        p = self.num_products
        m, c = mean.reshape(p, p), cov.reshape(p, p, p, p)
        return [((x @ (c[:, a, :, a] + np.outer(m[:, a], m[:, a]))) * x).sum(axis=1)
                for a, x in enumerate(self.views)]

    def curvature(self, zetas: list[np.ndarray]) -> np.ndarray:
        """``sum_n count_n lambda(zeta_n) psi_n psi_n^T`` (P^2, P^2)."""
        p = self.num_products
        total = np.zeros((p, p, p, p))
        for a, (x, counts, zeta) in enumerate(zip(self.views, self.counts, zetas)):
            total[:, a, :, a] = x.T @ (x * (counts * jaakkola_jordan(zeta))[:, None])
        return total.reshape(p * p, p * p)


def _bound_terms(zeta: np.ndarray, counts: np.ndarray) -> float:
    """``sum count (lambda zeta^2 + log sigmoid(zeta) - zeta / 2)``."""
    return float(counts @ (jaakkola_jordan(zeta) * zeta**2 + scipy.special.log_expit(zeta) - zeta / 2.0))


def bayesian_logistic(features: Any, actions: Any, clicks: Any, num_products: int, prior_mean: np.ndarray,
                      prior_cov: np.ndarray, max_iter: int = 5000) -> VBPosterior:
    """Variational Bayes logistic regression of ``clicks`` on
    :func:`action_features` (Jaakkola and Jordan's bound).

    The bound's optimum is the fixed point of Ormerod and Wand's updates
    (0.1.3.0's): ``Sigma = (Sigma0^-1 + 2 psi^T diag(lambda(zeta)) psi)^-1``,
    ``mu = Sigma (psi^T (y - 1/2) + Sigma0^-1 mu0)``, ``zeta_n^2 = psi_n^T
    (Sigma + mu mu^T) psi_n``. They form an EM algorithm, which converges
    slowly here (thousands of updates on a few hundred users' logs), so
    they are accelerated by SQUAREM (Varadhan and Roland, 2008): each cycle
    extrapolates from two updates and keeps the result only if the bound
    grew. The ``zeta`` start at the prior's ``psi_n^T (Sigma0 + mu0 mu0^T)
    psi_n``; they stop when no ``zeta`` moves by more than 1e-10 (relative
    to the largest), or after ``max_iter`` updates.

    Parameters
    ----------
    features : (N, P) array or sparse matrix
        The view counts before each impression.
    actions : (N,) int array
    clicks : (N,) array of 0 and 1
    num_products : int
        P.
    prior_mean : (P^2,) array
    prior_cov : (P^2, P^2) positive definite array
    max_iter : int
        The most updates.
    """
    with _one_blas_thread():
        return _bayesian_logistic(_Design(features, actions, clicks, num_products), prior_mean, prior_cov, max_iter)


def _bayesian_logistic(design: _Design, prior_mean: np.ndarray, prior_cov: np.ndarray,
                       max_iter: int) -> VBPosterior:
    num_products = design.num_products
    dimension = num_products**2
    mu0 = np.asarray(prior_mean, dtype=np.float64).reshape(dimension)
    cov0 = np.asarray(prior_cov, dtype=np.float64).reshape(dimension, dimension)
    factor0 = scipy.linalg.cho_factor(cov0)
    precision0 = scipy.linalg.cho_solve(factor0, np.eye(dimension))
    pull = precision0 @ mu0 + design.response.reshape(dimension)
    constant = -np.log(np.diag(factor0[0])).sum() + 0.5 * mu0 @ precision0 @ mu0
    sizes = np.cumsum([len(x) for x in design.views])[:-1]
    counts = np.concatenate(design.counts)
    updates = 0

    def update(zeta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """One update from ``zeta``: the next zeta, q's mean and covariance,
        and the bound at ``zeta``."""
        nonlocal updates
        updates += 1
        factor = scipy.linalg.cho_factor(precision0 + 2.0 * design.curvature(np.split(zeta, sizes)))
        cov = scipy.linalg.cho_solve(factor, np.eye(dimension))
        mean = cov @ pull
        bound = (-np.log(np.diag(factor[0])).sum() + 0.5 * mean @ pull - constant + _bound_terms(zeta, counts))
        moments = np.concatenate(design.second_moments(mean, cov))
        return np.sqrt(np.maximum(moments, 0.0)), mean, cov, float(bound)

    zeta = np.sqrt(np.maximum(np.concatenate(design.second_moments(mu0, cov0)), 0.0))
    converged = False
    while updates + 1 < max_iter:  # room for this update and q's at the last zeta
        first, mean, cov, bound = update(zeta)
        if _settled(first, zeta):
            zeta, converged = first, True
            break
        if updates + 3 > max_iter:
            zeta = first
            continue
        second, _, _, first_bound = update(first)
        step, curve = first - zeta, second - 2.0 * first + zeta
        size = float(np.linalg.norm(curve))
        alpha = min(-float(np.linalg.norm(step)) / size, -1.0) if size > 0 else -1.0
        jumped = np.abs(zeta - 2.0 * alpha * step + alpha**2 * curve)
        stabilised, _, _, jumped_bound = update(jumped)
        # The jump is kept only if it did not lower the bound (EM's own steps never do).
        zeta = stabilised if np.isfinite(jumped_bound) and jumped_bound >= first_bound else second
    if not converged:
        _, mean, cov, bound = update(zeta)
    return VBPosterior(mean, cov, bound, updates, converged)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread when threadpoolctl is installed: the matrices are
    small, and a threaded BLAS on a busy machine made each update 80 times
    slower."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        yield
        return
    with threadpoolctl.threadpool_limits(1):
        yield


def _settled(new: np.ndarray, old: np.ndarray) -> bool:
    return bool(np.max(np.abs(new - old), initial=0.0) <= _TOLERANCE * max(1.0, float(np.max(new, initial=0.0))))


def click_probabilities(posterior: VBPosterior, features: Any) -> np.ndarray:
    """The posterior mean click probability of every action for each row of
    ``features`` (B, P): ``E[sigmoid(psi . beta)]`` under the posterior,
    (B, P), by 64-point Gauss-Hermite quadrature."""
    x = np.asarray(features.toarray() if scipy.sparse.issparse(features) else features, dtype=np.float64)
    x = x.reshape(-1, x.shape[-1])
    p = x.shape[1]
    mean = posterior.mean.reshape(p, p)          # [view i, action a]
    cov = posterior.covariance.reshape(p, p, p, p)  # [i, a, j, b]
    m = x @ mean
    variance = np.einsum("ni,iaja,nj->na", x, cov, x)
    s = np.sqrt(np.maximum(variance, 0.0))
    logits = m[..., None] + s[..., None] * _HERMITE_NODES
    probabilities: np.ndarray = (scipy.special.expit(logits) * _HERMITE_WEIGHTS).sum(axis=-1)
    return probabilities


class BayesianFeaturesProviderVB(ViewsFeaturesProvider):
    """The user's view counts (or their weighted history), as a (1, P) row."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)

    def features(self, observation: Any) -> Any:
        base = super().features(observation)
        row = base.toarray() if scipy.sparse.issparse(base) else np.asarray(base)
        return row.reshape(1, self.config.num_products)


class BayesianRegressionModelVB(Model):
    """Recommends the product of highest posterior mean click probability,
    with propensity 1.

    Attributes
    ----------
    posterior : VBPosterior
        The fitted approximation of the posterior.
    """

    def __init__(self, config: Any, posterior: VBPosterior) -> None:
        super().__init__(config)
        self.posterior = posterior

    def act(self, observation: Any, features: Any) -> dict[str, Any]:
        probabilities = click_probabilities(self.posterior, features)[0]
        action = int(np.argmax(probabilities))
        if self.config.with_ps_all:
            ps_all: Any = np.zeros(self.config.num_products)
            ps_all[action] = 1.0
        else:
            ps_all = ()
        return {**super().act(observation, features), "a": action, "ps": 1.0, "ps-a": ps_all}


class BayesianModelBuilderVB(AbstractFeatureProvider):
    """Fits :func:`bayesian_logistic` on the impressions it was trained on."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)

    def build(self) -> tuple[BayesianFeaturesProviderVB, BayesianRegressionModelVB]:
        features, actions, deltas, _ = self.train_data()
        p = self.config.num_products
        posterior = bayesian_logistic(features, actions, deltas, p, np.full(p * p, PRIOR_MEAN),
                                      prior_covariance(p, self.config.aa, self.config.bb), self.config.max_iter)
        return BayesianFeaturesProviderVB(self.config), BayesianRegressionModelVB(self.config, posterior)


class BayesianAgentVB(ModelBasedAgent):
    """0.1.3.0's variational Bayes logistic regression agent.

    On its first act it fits the posterior of the click model (see the
    module's description) to everything it was trained on, then
    recommends, for the user's view counts ``x``, the action ``a`` of
    highest posterior mean ``P(click | x, a)``, with propensity 1.

    Parameters
    ----------
    config : dict or Configuration
        :data:`bayesian_poly_args`, which missing keys default to.

    Raises
    ------
    ValueError, TypeError
        At construction, for a bad argument, naming it.

    Notes
    -----
    Differences from 0.1.3.0, on purpose:

    * 0.1.3.0 imported ``scipy.rand``, gone from scipy, and so failed to
      import; its dense ``train_data`` read ``np.float``, gone from numpy.
    * 0.1.3.0 built an N x N diagonal matrix per update (N impressions: 4 GB
      for 300 users of reco-gym-v1) and inverted matrices explicitly. recogym merges
      identical (views, action) rows, uses the bound's block structure (one
      P x P block per action) and Cholesky solves: an update costs
      O(N P^2 + P^6) time and O(N P + P^4) memory.
    * 0.1.3.0 ran 200 updates from random ``zeta``, ignoring ``max_iter``.
      On reco-gym-v1's logs the updates need about 10^4 to converge (from 10
      users on), so its posterior mean was still moving by whole units of
      logit. recogym accelerates the same updates (SQUAREM), starts from the
      prior and stops once they converge (a few hundred updates), or after
      ``max_iter``: on the same logs it reaches the fixed point of 0.1.3.0's
      own function run for 20000 updates.
    * An impression before any view has features 0 and so ``zeta = 0``,
      where 0.1.3.0's ``lambda`` divided by zero and made the whole fit NaN;
      recogym takes the limit 1/8 (the row adds nothing to the fit).
    * 0.1.3.0 averaged 1000 unseeded posterior draws for each act; recogym
      integrates exactly (Gauss-Hermite), so the agent is deterministic.
    * It no longer prints ``'ffq'`` when built.
    """

    def __init__(self, config: Any = bayesian_poly_args) -> None:
        values = dict(config) if isinstance(config, Mapping) else dict(vars(config))
        config = Configuration({**bayesian_poly_args, **values})
        p = _checks.check_positive_int("agent arg 'num_products'", config.num_products)
        aa = _checks.check_positive_real("agent arg 'aa'", config.aa)
        bb = config.bb
        if not _checks.is_real(bb) or not math.isfinite(bb) or not aa + p * bb > 0:
            raise ValueError(f"agent arg 'bb' must be a finite number > -aa / num_products = {-aa / p:g} (so that "
                             f"the prior covariance is positive definite), got {bb!r}")
        _checks.check_positive_int("agent arg 'max_iter'", config.max_iter)
        _checks.check_flag("agent arg 'with_ps_all'", config.with_ps_all)
        super().__init__(config, BayesianModelBuilderVB(config))
