"""0.1.3.0's OrganicCount: what is viewed together is recommended together."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ..logs import Logs
from ._args import with_defaults
from ._policy import greedy, per_last_view
from .base import BatchAgent, UserBatch
from .features import organic_sessions

__all__ = ["OrganicCount", "organic_count_args", "to_categorical"]

organic_count_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


def to_categorical(y: npt.ArrayLike, num_classes: int | None = None, dtype: npt.DTypeLike = "float32") -> np.ndarray:
    """One-hot encoding of class numbers, as Keras' ``to_categorical``.

    0.1.3.0's ``organic_count`` module carried this copy of Keras'
    function, and notebooks import it from there
    (``to_categorical(views, P).sum(0)`` counts a user's views).

    Parameters
    ----------
    y : array_like of int
        Class numbers in ``[0, num_classes)``; floats are truncated to int,
        as Keras does.
    num_classes : int, optional
        Defaults to ``max(y) + 1``.
    dtype : dtype
        Of the result; ``'float32'`` as in Keras.

    Returns
    -------
    ndarray
        ``y``'s shape plus a last axis of ``num_classes``, a trailing axis of
        size 1 being dropped first (a column vector gives a matrix).

    Raises
    ------
    ValueError
        If a class number is outside ``[0, num_classes)`` (Keras' copy
        wrapped a negative one round to the last classes), or ``y`` is empty
        and ``num_classes`` is not given.

    Examples
    --------
    >>> to_categorical([0, 2, 1], 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    classes = np.array(y, dtype=int)
    shape = classes.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    classes = classes.ravel()
    if not num_classes:
        if not len(classes):
            raise ValueError("to_categorical: y is empty, so num_classes must be given")
        num_classes = int(classes.max()) + 1
    if len(classes) and (classes.min() < 0 or classes.max() >= num_classes):
        bad = classes[(classes < 0) | (classes >= num_classes)][0]
        raise ValueError(f"to_categorical: y must hold class numbers in [0, num_classes) = [0, {num_classes}), "
                         f"got {bad}")
    categorical = np.zeros((len(classes), num_classes), dtype=dtype)
    categorical[np.arange(len(classes)), classes] = 1
    return categorical.reshape(shape + (num_classes,))


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

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by their co-views with the user's last view."""
        self.fit_pending()
        scores = np.zeros((len(batch.user_ids), self.num_products))
        seen = np.asarray(batch.last_view) >= 0
        scores[seen] = self.co_counts[np.asarray(batch.last_view)[seen]]
        return scores
