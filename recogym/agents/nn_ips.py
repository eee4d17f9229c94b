"""0.1.3.0's NnIpsAgent: a neural policy that maximises the IPS estimate of clicks."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..logs import Logs
from ._args import check_flag, check_non_negative, check_positive, check_positive_integer, with_defaults
from ._optional import require
from ._policy import greedy
from .base import UserBatch
from .features import impression_features
from .model_based import LogFittedAgent

if TYPE_CHECKING:  # torch is imported only when the agent trains or acts
    from ._torch_models import IpsPolicyNet

__all__ = ["NnIpsAgent", "nn_ips_args"]

nn_ips_args = {
    "num_products": 10,
    "random_seed": 42,
    # Draw from the network's probabilities (else take the most probable).
    "select_randomly": False,
    # Clipping of the importance weights.
    "M": 111,
    "learning_rate": 0.01,
    "num_epochs": 100,
    "num_hidden": 20,
    # Weight of the estimate's standard error in the loss.
    "lambda_val": 0.01,
    "with_ps_all": False,
}


class NnIpsAgent(LogFittedAgent):
    """A policy network trained to earn the most clicks by counterfactual risk
    minimisation on the logs.

    The network maps the user's view counts to probabilities over products.
    Training maximises the clipped inverse-propensity estimate of its click
    rate, ``mean(u)`` with ``u = min(pi(a | x) / ps, M) * click`` over the
    logged impressions, penalised by ``lambda_val`` times its standard error
    ``sqrt(var(u) / n)``, with Adam on the full batch for ``num_epochs``.
    Only clicked impressions have ``u != 0``, so only they pass through the
    network; the mean and variance still count every impression. The agent
    takes the most probable product (propensity 1), or draws from the
    network's probabilities with ``select_randomly``; until it has seen a
    click it recommends uniformly at random. With ``legacy_draws``
    (``rng='legacy'``) ``select_randomly`` draws as 0.1.3.0 did,
    ``RandomState(random_seed).choice(num_products, p=...)`` at every act,
    from this network's probabilities.

    0.1.3.0 averaged over all products rather than the logged one and
    floored the weights at ``M`` instead of clipping them, which left a
    constant loss; and with its plain SGD at this loss's scale the network
    barely leaves its initial weights (its CTR fell below random's).

    Parameters
    ----------
    config : dict or Configuration
        :data:`nn_ips_args`, which missing keys default to.

    Raises
    ------
    ImportError
        When training, if PyTorch is missing: ``pip install recogym[torch]``.
    """

    def __init__(self, config: Mapping[str, Any] | None = nn_ips_args) -> None:
        super().__init__(with_defaults(nn_ips_args, config))
        self.select_randomly = check_flag(self.config, "select_randomly")
        self.M = check_positive(self.config, "M")
        self.learning_rate = check_positive(self.config, "learning_rate")
        self.num_epochs = check_positive_integer(self.config, "num_epochs")
        self.num_hidden = check_positive_integer(self.config, "num_hidden")
        self.lambda_val = check_non_negative(self.config, "lambda_val")
        self.model: IpsPolicyNet | None = None

    def fit(self, logs: Logs) -> None:
        require("torch", type(self).__name__)
        import torch

        from . import _torch_models

        clicked = impression_features(logs, self.num_products, clicked_only=True, dense=True)
        if not len(clicked.actions):
            self.model = None
            return
        n = int(np.count_nonzero(logs.impressions))
        views = torch.from_numpy(clicked.views)
        rows = torch.arange(len(clicked.actions))
        actions = torch.from_numpy(clicked.actions)
        propensities = torch.from_numpy(clicked.propensities)

        def loss() -> "torch.Tensor":
            u = torch.clamp(model(views)[rows, actions] / propensities, max=self.M)
            mean = u.sum() / n
            variance = (u.square().sum() - n * mean.square()) / max(n - 1, 1)
            # Clamped above 0: sqrt has no finite gradient at 0.
            return -mean + self.lambda_val * torch.sqrt(variance.clamp(min=1e-12) / n)

        with _torch_models.seeded(self.random_seed):
            self.model = model = _torch_models.IpsPolicyNet(self.num_products, self.num_hidden)
            optimizer = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
            for _ in range(self.num_epochs):
                optimizer.zero_grad()
                loss().backward()  # type: ignore[no-untyped-call]  # torch leaves backward unannotated
                optimizer.step()

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        if self.model is None:
            return np.full((len(batch.user_ids), self.num_products), 1.0 / self.num_products)
        from ._torch_models import scores

        probabilities = scores(self.model, np.asarray(batch.view_counts, dtype=np.float64))
        return probabilities if self.select_randomly else greedy(probabilities)
