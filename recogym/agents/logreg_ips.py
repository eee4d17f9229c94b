"""0.1.3.0's LogregMulticlassIpsAgent: imitate the clicked recommendations."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..logs import Logs
from ._args import check_flag, check_positive_integer, with_defaults
from ._optional import require
from ._policy import greedy
from .base import UserBatch
from .features import impression_features
from .model_based import LogFittedAgent

__all__ = ["LogregMulticlassIpsAgent", "logreg_multiclass_ips_args"]

logreg_multiclass_ips_args = {
    "num_products": 10,
    "random_seed": 42,
    # Draw from the predicted probabilities (else take the most probable).
    "select_randomly": False,
    "solver": "lbfgs",
    "max_iter": 5000,
    "with_ps_all": False,
}


class LogregMulticlassIpsAgent(LogFittedAgent):
    """Predicts, from the user's view counts, which product would be clicked.

    A multinomial logistic regression (scikit-learn's ``LogisticRegression``)
    of the logged action on the view counts before it, each impression
    weighted by ``click / propensity``: the inverse-propensity estimate of
    the policy that earns the most clicks. Only clicked impressions weigh,
    so only they are fitted. Until it has seen a click it recommends
    uniformly at random.

    With ``legacy_draws`` (``rng='legacy'``) ``select_randomly`` draws as
    0.1.3.0 did, ``RandomState(random_seed).choice(num_products, p=...)``
    at every act (from this agent's probabilities, which its fit makes
    differ from 0.1.3.0's); without it, the first most probable product.

    Parameters
    ----------
    config : dict or Configuration
        :data:`logreg_multiclass_ips_args`, which missing keys default to.

    Attributes
    ----------
    coef : (P, P) float64 array
    intercept : (P,) float64 array
        The scores ``view_counts @ coef.T + intercept`` whose softmax is the
        predicted distribution; a product never clicked has intercept -inf.

    Raises
    ------
    ImportError
        When training, if scikit-learn is missing: ``pip install recogym[sklearn]``.
    """

    def __init__(self, config: Mapping[str, Any] | None = logreg_multiclass_ips_args) -> None:
        super().__init__(with_defaults(logreg_multiclass_ips_args, config))
        self.select_randomly = check_flag(self.config, "select_randomly")
        self.max_iter = check_positive_integer(self.config, "max_iter")
        self.coef = np.zeros((self.num_products, self.num_products))
        self.intercept = np.zeros(self.num_products)

    def fit(self, logs: Logs) -> None:
        linear_model = require("sklearn.linear_model", type(self).__name__)
        threadpoolctl = require("threadpoolctl", type(self).__name__)
        clicked = impression_features(logs, self.num_products, clicked_only=True)
        classes = np.unique(clicked.actions)
        self.coef = np.zeros((self.num_products, self.num_products))
        self.intercept = np.full(self.num_products, -np.inf)
        if len(classes) < 2:
            # Nothing or a single product was clicked: that is the prediction.
            self.intercept[classes if len(classes) else slice(None)] = 0.0
            return
        model = linear_model.LogisticRegression(solver=self.config["solver"], max_iter=self.max_iter,
                                                random_state=self.random_seed)
        weights = 1.0 / clicked.propensities
        # Scaled to mean 1, so the regularisation means the same whatever the
        # logging policy's propensities (0.1.3.0 used 1 / propensity).
        # One BLAS thread: on problems this small more threads only contend,
        # which made fits 10-100 times slower on a busy two-core machine.
        with threadpoolctl.threadpool_limits(1):
            model.fit(clicked.views, clicked.actions, sample_weight=weights / weights.mean())
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:
            # scikit-learn keeps one row, the second class's score against the first's.
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
        self.coef[model.classes_] = coef
        self.intercept[model.classes_] = intercept

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by the model's logit of being the one clicked."""
        self.fit_pending()
        scores: np.ndarray = np.asarray(batch.view_counts, dtype=np.float64) @ self.coef.T + self.intercept
        return scores

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        scores = np.asarray(batch.view_counts, dtype=np.float64) @ self.coef.T + self.intercept
        if not self.select_randomly:
            return greedy(scores)
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        policy: np.ndarray = probabilities / probabilities.sum(axis=1, keepdims=True)
        return policy
