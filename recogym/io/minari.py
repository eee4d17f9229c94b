"""Logs as a Minari dataset: offline-RL episodes of the Gymnasium env.

Minari is the Farama Foundation's dataset format for offline RL, which
d3rlpy, TorchRL (``MinariExperienceReplay``) and CORL-style code read, so
one export serves every off-policy library; an SB3 replay buffer would serve
SB3's own algorithms only, and pickles their internals. Each user of the
logs becomes one episode of ``recogym/RecoGym-v1`` (or
``recogym/RecoGymClusters-v0``) in the Gymnasium env's own form (its
observations, rewards, ends and info keys), with the logging policy's
propensities added to the infos, which off-policy correction needs. (The
episodes are not replayable draw for draw in the env: the logging policy
draws its actions from the user's own stream.)

Needs ``pip install "minari[hdf5]"`` (the ``[minari]`` extra; Minari's
``DataCollector`` also needs ``minari[create]``); it is imported when
:func:`to_minari` is called. Minari's Arrow format cannot read back scalar
infos (minari 0.5.4), so datasets are HDF5, Minari's default.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import is_integer
from ..envs.gym_env import view_count_space
from ..logs import EventKind, Logs

__all__ = ["episodes_of", "to_minari"]


def episodes_of(logs: Logs, num_products: int | None = None) -> list[dict[str, Any]]:
    """The Gymnasium episodes of ``logs``, one per user with an impression.

    Parameters
    ----------
    logs : Logs
        Columnar logs, as :meth:`~recogym.RecoEnv.simulate` makes them; each
        user's rows in time order (users may be interleaved).
    num_products : int, optional
        Defaults to one more than the largest product in the logs.

    Returns
    -------
    list of dict
        In order of the users' first rows, each with ``observations``,
        ``(T + 1, P)`` float32: the organic views before the first impression
        (the env's reset observation) and after each of the ``T``
        impressions; ``actions`` (int64), ``rewards`` (float64 clicks),
        ``terminations`` (True at the last impression: the user then leaves)
        and ``truncations``, each ``(T,)``; and ``infos``, arrays of
        ``T + 1`` values as the env gives them at reset and at each step:
        ``user_id``, ``click_probability`` (NaN at reset) and
        ``propensity``, the logging policy's probability of the action (NaN
        at reset).

    Raises
    ------
    TypeError
        If ``logs`` is not :class:`~recogym.Logs`.
    ValueError
        If a product is outside ``[0, num_products)``.
    """
    if not isinstance(logs, Logs):
        raise TypeError(f"logs must be recogym.Logs (env.simulate(...)), got {type(logs).__name__}")
    columns = logs
    order = np.argsort(columns.u, kind="stable")
    users, z, v, a = columns.u[order], columns.z[order], columns.v[order], columns.a[order]
    products = np.concatenate([v[z == EventKind.ORGANIC], a[z == EventKind.BANDIT]])
    if num_products is None:
        num_products = int(products.max()) + 1 if len(products) else 1
    elif not is_integer(num_products) or num_products < 1:
        raise ValueError(f"num_products must be a positive integer, got {num_products!r}")
    if len(products) and (products.min() < 0 or products.max() >= num_products):
        raise ValueError(f"the logs' products must be in [0, {num_products}), got {products.min()} to "
                         f"{products.max()}")
    impression = z == EventKind.BANDIT
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(users)]
    # Each row's step within its user: the impressions before it.
    before = np.cumsum(impression) - impression
    step = before - np.repeat(before[starts], ends - starts)
    impressions = np.add.reduceat(impression, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    first_observation = np.r_[0, np.cumsum(impressions + 1)[:-1]]
    counts = np.zeros((int((impressions + 1).sum()), num_products), dtype=np.float32)
    organic = ~impression
    observation = np.repeat(first_observation, ends - starts) + step
    np.add.at(counts, (observation[organic], v[organic]), 1.0)

    click, ps, probability = columns.c[order], columns.ps[order], columns.click_probability[order]
    episodes = []
    first_row = order[starts]
    for n in np.argsort(first_row, kind="stable"):
        count = int(impressions[n])
        if count == 0:
            continue
        rows = np.flatnonzero(impression[starts[n]:ends[n]]) + starts[n]
        terminations = np.zeros(count, dtype=np.bool_)
        terminations[-1] = True
        episodes.append({
            "observations": counts[first_observation[n]:first_observation[n] + count + 1],
            "actions": a[rows].astype(np.int64),
            "rewards": click[rows].astype(np.float64),
            "terminations": terminations,
            "truncations": np.zeros(count, dtype=np.bool_),
            "infos": {
                "user_id": np.full(count + 1, users[starts[n]], dtype=np.int64),
                "click_probability": np.r_[np.nan, probability[rows]],
                "propensity": np.r_[np.nan, ps[rows]],
            },
        })
    return episodes


def to_minari(logs: Logs, dataset_id: str, num_products: int | None = None, **metadata: Any) -> Any:
    """Write ``logs`` as the Minari dataset ``dataset_id`` (see :func:`episodes_of`).

    Parameters
    ----------
    logs : Logs
    dataset_id : str
        Minari's ``(namespace/)(env_name/)dataset_name-v(version)``, e.g.
        ``'recogym/uniform-v0'``; written under ``MINARI_DATASETS_PATH``.
    num_products : int, optional
        The size of the dataset's spaces (those of the Gymnasium env with
        that many products); defaults as in :func:`episodes_of`.
    **metadata
        Passed on to ``minari.create_dataset_from_buffers``
        (``algorithm_name``, ``author``, ``description``, ...).

    Returns
    -------
    minari.MinariDataset

    Examples
    --------
    >>> env = recogym.make('reco-gym-v1')
    >>> env.init_gym({'num_products': 10, 'random_seed': 42})
    >>> dataset = to_minari(env.simulate(1000), 'recogym/uniform-v0', 10)  # doctest: +SKIP
    """
    import gymnasium
    import minari
    from minari.data_collector import EpisodeBuffer

    episodes = episodes_of(logs, num_products)
    P = episodes[0]["observations"].shape[1] if episodes else int(num_products or 1)
    buffers = [EpisodeBuffer(id=n, **episode) for n, episode in enumerate(episodes)]
    metadata.setdefault("algorithm_name", "recogym logging policy")
    return minari.create_dataset_from_buffers(
        dataset_id, buffers, action_space=gymnasium.spaces.Discrete(P), observation_space=view_count_space(P),
        **metadata)
