"""0.1.3.0's OrganicMFSquare: a low-rank model of the next organic view."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..logs import Logs
from ._args import check_mf_settings, with_defaults
from ._optional import require
from ._policy import greedy, per_last_view
from .base import UserBatch
from .features import organic_sessions
from .model_based import LogFittedAgent

if TYPE_CHECKING:  # torch is imported only when the agent trains or acts
    from ._torch_models import NextViewMF

__all__ = ["OrganicMFSquare", "organic_mf_square_args"]

organic_mf_square_args = {
    "num_products": 10,
    "random_seed": 42,
    "embed_dim": 5,
    "learning_rate": 0.01,
    # Full-batch optimiser steps.
    "num_steps": 500,
    # Strength of the Gaussian prior on the parameters.
    "l2_regularisation": 10.0,
    "with_ps_all": False,
}


class OrganicMFSquare(LogFittedAgent):
    """Recommends the product most likely to be viewed next after the user's
    last view.

    A softmax over the next view, through an ``embed_dim``-dimensional
    embedding of the current one, is fitted to the consecutive views of each
    organic session: it minimises their mean cross entropy plus
    ``l2_regularisation * |parameters|^2 / pairs``, in ``num_steps``
    full-batch RMSprop steps on the pairs summed per (view, next view) cell,
    as :class:`BanditMFSquare` does. Like :class:`OrganicCount` it learns
    nothing from clicks. The choice is deterministic (propensity 1); until
    trained it recommends uniformly at random. A batch of users is scored in
    one forward pass.

    Parameters
    ----------
    config : dict or Configuration
        :data:`organic_mf_square_args`, which missing keys default to.
        0.1.3.0's ``loss_function``, ``optim_function`` and
        ``mini_batch_size`` are replaced by the fixed loss and optimiser
        above, ``num_steps`` and ``l2_regularisation``.

    Raises
    ------
    ImportError
        When training, if PyTorch is missing: ``pip install recogym[torch]``.
    """

    def __init__(self, config: Mapping[str, Any] | None = organic_mf_square_args) -> None:
        super().__init__(with_defaults(organic_mf_square_args, config))
        self.embed_dim, self.learning_rate, self.num_steps, self.l2_regularisation = check_mf_settings(self.config)
        self.model: NextViewMF | None = None

    def fit(self, logs: Logs) -> None:
        require("torch", type(self).__name__)
        import torch

        from . import _torch_models

        views, sessions = organic_sessions(logs)
        follows = sessions[1:] == sessions[:-1]
        P = self.num_products
        pairs = np.bincount(views[:-1][follows] * P + views[1:][follows], minlength=P * P).reshape(P, P)
        transitions = torch.from_numpy(pairs.astype(np.float64))
        total = int(pairs.sum())
        every_product = torch.arange(P)

        def loss() -> "torch.Tensor":
            log_next = torch.log_softmax(model(every_product), dim=1)
            return -(transitions * log_next).sum() / max(total, 1)

        with _torch_models.seeded(self.random_seed):
            self.model = model = _torch_models.NextViewMF(P, self.embed_dim)
            _torch_models.minimise(model, loss, self.num_steps, self.learning_rate, self.l2_regularisation,
                                   total)

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        if self.model is None:
            return np.full((len(batch.user_ids), self.num_products), 1.0 / self.num_products)
        from ._torch_models import scores

        model = self.model
        return per_last_view(batch.last_view, self.num_products, lambda views: greedy(scores(model, views)))
