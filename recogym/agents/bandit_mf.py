"""0.1.3.0's BanditMFSquare: a low-rank click model of (last view, action)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..logs import Logs
from ._args import check_mf_settings, with_defaults
from ._optional import require
from ._policy import greedy, per_last_view
from .base import UserBatch
from .features import impressions
from .model_based import LogFittedAgent

if TYPE_CHECKING:  # torch is imported only when the agent trains or acts
    from ._torch_models import ViewActionMF

__all__ = ["BanditMFSquare", "bandit_mf_square_args"]

bandit_mf_square_args = {
    "num_products": 10,
    "random_seed": 42,
    "embed_dim": 5,
    "learning_rate": 0.01,
    # Full-batch optimiser steps.
    "num_steps": 500,
    # Strength of the Gaussian prior on the embeddings.
    "l2_regularisation": 10.0,
    "with_ps_all": False,
}


class BanditMFSquare(LogFittedAgent):
    """Recommends the action with the highest click logit after the user's
    last view, in a matrix factorisation of the (last view, action) clicks.

    The logit of a click on ``a`` after a last view ``v`` is the dot product
    of two ``embed_dim``-dimensional embeddings, one of ``v`` and one of
    ``a``. The low rank shares what is learnt between products, where
    :class:`BanditCount` estimates every (view, action) cell alone.

    The embeddings minimise the mean binary cross entropy of the logged
    clicks plus ``l2_regularisation * |embeddings|^2 / impressions``, in
    ``num_steps`` full-batch RMSprop steps. The impressions are first
    summed per (view, action) cell, so a step costs the same for any number
    of users. 0.1.3.0 made one unregularised pass of mini-batches of 32 in
    log order (805 s for 1000 users at P=100); at P=100 and 1000 users such
    a pass gave CTRs from 1.3% to 2.1% over six seeds (random: 1.1%), the
    regularised fit 1.8% to 2.1%, in about a second.

    The choice is deterministic (propensity 1); until trained it recommends
    uniformly at random. Training and scoring run in PyTorch on one thread;
    a batch of users is scored in one forward pass.

    Parameters
    ----------
    config : dict or Configuration
        :data:`bandit_mf_square_args`, which missing keys default to.
        0.1.3.0's ``loss_function``, ``optim_function`` and
        ``mini_batch_size`` are replaced by the fixed loss and optimiser
        above, ``num_steps`` and ``l2_regularisation``.

    Raises
    ------
    ImportError
        When training, if PyTorch is missing: ``pip install recogym[torch]``.
    """

    def __init__(self, config: Mapping[str, Any] | None = bandit_mf_square_args) -> None:
        super().__init__(with_defaults(bandit_mf_square_args, config))
        self.embed_dim, self.learning_rate, self.num_steps, self.l2_regularisation = check_mf_settings(self.config)
        self.model: ViewActionMF | None = None

    def fit(self, logs: Logs) -> None:
        require("torch", type(self).__name__)
        import torch

        from . import _torch_models

        shown = impressions(logs)
        seen = shown.last_view >= 0
        P = self.num_products
        cell = shown.last_view[seen] * P + shown.actions[seen]
        cells = np.flatnonzero(np.bincount(cell, minlength=P * P))
        shown_in = torch.from_numpy(np.bincount(cell, minlength=P * P)[cells].astype(np.float64))
        clicked_in = torch.from_numpy(np.bincount(cell, shown.clicks[seen], minlength=P * P)[cells])
        last_view, actions = torch.from_numpy(cells // P), torch.from_numpy(cells % P)
        total = int(seen.sum())

        def loss() -> "torch.Tensor":
            # Binary cross entropy summed over a cell's impressions:
            # shown * log(1 + e^logit) - clicked * logit.
            logits: torch.Tensor = model(last_view, actions)
            return (shown_in * torch.nn.functional.softplus(logits) - clicked_in * logits).sum() / max(total, 1)

        with _torch_models.seeded(self.random_seed):
            self.model = model = _torch_models.ViewActionMF(P, self.embed_dim)
            _torch_models.minimise(model, loss, self.num_steps, self.learning_rate, self.l2_regularisation,
                                   total)

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        if self.model is None:
            return np.full((len(batch.user_ids), self.num_products), 1.0 / self.num_products)
        from ._torch_models import scores

        model = self.model
        return per_last_view(batch.last_view, self.num_products, lambda views: greedy(scores(model, views)))
