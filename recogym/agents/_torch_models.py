"""The PyTorch models of the torch agents, and how they are trained.

Imported only when a torch agent trains or acts, never by ``import recogym``.
Models compute in float64 on one thread: training is reproducible, and a
user's scores barely depend on the size of the batch they come in, so the
batch and per-user paths make the same greedy choices.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

__all__ = ["ViewActionMF", "NextViewMF", "IpsPolicyNet", "seeded", "one_thread", "minimise", "scores"]

DTYPE = torch.float64


class ViewActionMF(nn.Module):
    """The click logit of action ``a`` after a last view ``v``:
    ``view_embedding[v] . product_embedding[a]``."""

    def __init__(self, num_products: int, embed_dim: int) -> None:
        super().__init__()
        self.view_embedding = nn.Embedding(num_products, embed_dim, dtype=DTYPE)
        self.product_embedding = nn.Embedding(num_products, embed_dim, dtype=DTYPE)

    def forward(self, last_view: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of ``actions``, one per row, or (without) of every product."""
        views: torch.Tensor = self.view_embedding(last_view)
        if actions is None:
            return views @ self.product_embedding.weight.T
        products: torch.Tensor = self.product_embedding(actions)
        return (views * products).sum(dim=1)


class NextViewMF(nn.Module):
    """Logits of the next organic view given the current one, through an
    ``embed_dim``-dimensional embedding of the current view."""

    def __init__(self, num_products: int, embed_dim: int) -> None:
        super().__init__()
        self.product_embedding = nn.Embedding(num_products, embed_dim, dtype=DTYPE)
        self.output_layer = nn.Linear(embed_dim, num_products, dtype=DTYPE)

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.output_layer(self.product_embedding(views))
        return logits


class IpsPolicyNet(nn.Module):
    """A policy: view counts to probabilities over products, through two
    sigmoid hidden layers (0.1.3.0's NnIpsAgent network)."""

    def __init__(self, num_products: int, num_hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(num_products, num_hidden, dtype=DTYPE),
            nn.Sigmoid(),
            nn.Linear(num_hidden, num_hidden, dtype=DTYPE),
            nn.Sigmoid(),
            nn.Linear(num_hidden, num_products, dtype=DTYPE),
            nn.Softmax(dim=1),
        )

    def forward(self, view_counts: torch.Tensor) -> torch.Tensor:
        probabilities: torch.Tensor = self.layers(view_counts)
        return probabilities


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread (for reproducible sums), then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """On one thread, with torch's global generator (which initialises new
    modules) seeded by ``seed``, and restored afterwards."""
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def minimise(model: nn.Module, loss: Callable[[], torch.Tensor], num_steps: int, learning_rate: float,
             l2_regularisation: float, num_samples: int) -> None:
    """Full-batch RMSprop on ``loss() + l2_regularisation * |parameters|^2 /
    num_samples``: a Gaussian prior on the parameters, whose pull fades as
    the data grow."""
    parameters = list(model.parameters())
    optimizer = torch.optim.RMSprop(parameters, lr=learning_rate)
    scale = l2_regularisation / max(num_samples, 1)
    for _ in range(num_steps):
        optimizer.zero_grad()
        penalty = sum(parameter.square().sum() for parameter in parameters)
        (loss() + scale * penalty).backward()  # type: ignore[no-untyped-call]  # torch leaves backward unannotated
        optimizer.step()


def scores(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    """``model(inputs)`` for a whole batch, as a float64 numpy array."""
    with one_thread(), torch.no_grad():
        outputs: torch.Tensor = model(torch.from_numpy(inputs))
        return outputs.numpy()
