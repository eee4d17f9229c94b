"""0.1.3.0's OrganicCount: what is viewed together is recommended together."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import sparse

from ..logs import Logs
from ._args import with_defaults
from ._policy import greedy, per_last_view
from .base import BatchAgent, UserBatch
from .features import organic_sessions

__all__ = ["OrganicCount", "organic_count_args"]

organic_count_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class OrganicCount(BatchAgent):
    """Recommends the product most often viewed in the same organic sessions
    as the user's last view.

    It counts co-views over the sessions it is trained on: a session with
    ``n_p`` views of ``p`` and ``n_q`` of ``q`` adds ``n_p * n_q`` to
    ``co_counts[p, q]`` (the diagonal included, so a product co-occurs with
    itself). The choice is deterministic (propensity 1); ties go to the
    lowest product index. It learns nothing from bandit feedback, so it does
    well only while organic interest points to what users click.

    Parameters
    ----------
    config : dict or Configuration
        :data:`organic_count_args`, which missing keys default to.
    """

    def __init__(self, config: Mapping[str, Any] | None = organic_count_args) -> None:
        super().__init__(with_defaults(organic_count_args, config))
        self.co_counts = np.zeros((self.num_products, self.num_products))

    def train_logs(self, logs: Logs) -> None:
        views, sessions = organic_sessions(logs)
        if not len(views):
            return
        session_views = sparse.csr_matrix((np.ones(len(views)), (sessions, views)),
                                          shape=(sessions[-1] + 1, self.num_products))
        self.co_counts += (session_views.T @ session_views).toarray()

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        return per_last_view(batch.last_view, self.num_products, lambda views: greedy(self.co_counts[views]))
