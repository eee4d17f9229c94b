"""0.1.3.0's LogregPolyAgent: a click model on views crossed with actions."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import sparse

from ..logs import Logs
from ._args import check_flag, check_positive, check_positive_integer, with_defaults
from ._optional import require
from ._policy import greedy
from .base import UserBatch
from .features import impression_features
from .model_based import ModelBasedAgent

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
    "with_ps_all": False,
}


def cross_features(views: sparse.csr_matrix, actions: np.ndarray, num_products: int) -> sparse.csr_matrix:
    """The likelihood model's design matrix: ``[views, one_hot(action),
    views (x) one_hot(action)]``, with the cross term of view ``p`` and action
    ``a`` in column ``2P + a * P + p`` (0.1.3.0's ``SparsePolynomialFeatures``).

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


class LogregPolyAgent(ModelBasedAgent):
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

    Parameters
    ----------
    config : dict or Configuration
        :data:`logreg_poly_args`, which missing keys default to. 0.1.3.0's
        ``poly_degree`` (always 2) and ``ips_numerator_is_delta`` (which
        weighs out every non-clicked impression, leaving a click model
        nothing to contrast) are gone.

    Attributes
    ----------
    action_coef : (P,) float64 array
    cross_coef : (P, P) float64 array
        Indexed by action, then viewed product.

    Raises
    ------
    ImportError
        When training, if scikit-learn is missing: ``pip install recogym[sklearn]``.
    """

    def __init__(self, config: Mapping[str, Any] | None = logreg_poly_args) -> None:
        super().__init__(with_defaults(logreg_poly_args, config))
        self.with_ips = check_flag(self.config, "with_ips")
        self.ips_with_clipping = check_flag(self.config, "ips_with_clipping")
        self.ips_clipping_value = check_positive(self.config, "ips_clipping_value")
        self.max_iter = check_positive_integer(self.config, "max_iter")
        self.action_coef = np.zeros(self.num_products)
        self.cross_coef = np.zeros((self.num_products, self.num_products))

    def fit(self, logs: Logs) -> None:
        linear_model = require("sklearn.linear_model", type(self).__name__)
        threadpoolctl = require("threadpoolctl", type(self).__name__)
        shown = impression_features(logs, self.num_products, dense=False)
        self.action_coef = np.zeros(self.num_products)
        self.cross_coef = np.zeros((self.num_products, self.num_products))
        if len(np.unique(shown.clicks)) < 2:
            return
        weights = None
        if self.with_ips:
            weights = 1.0 / shown.propensities
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
            model.fit(cross_features(shown.views, shown.actions, self.num_products), shown.clicks,
                      sample_weight=weights)
        P = self.num_products
        coef = model.coef_[0]
        self.action_coef = coef[P:2 * P].copy()
        self.cross_coef = coef[2 * P:].reshape(P, P).copy()

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        return greedy(np.asarray(batch.view_counts, dtype=np.float64) @ self.cross_coef.T + self.action_coef)
