"""Paired online A/B tests: agents compared on the same users.

In the default random-number mode a user's draws depend only on
``(random_seed, user_id)``, so two agents shown the same user ids meet the
same users: the same tastes, the same organic sessions, and the same uniform
number behind each click until their paths part. Their per-user outcomes are
then positively correlated (common random numbers), and the interval of the
difference in CTR, resampling users jointly, is narrower than the one an A/B
test on separate users would give.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from .._progress import tqdm

from .._checks import check_choice, check_count, check_positive_int, check_seed
from ..envs.batch import BatchEnv
from ..envs.classic import ENV_IDS, RecoEnv, make
from ..session import as_action, as_slate_action
from .online import check_metric, ctr_interval, train_offline

__all__ = ["Comparison", "compare", "verify_agents"]

# Bootstrap replicates times users resampled at once: bounds the memory used.
_BOOTSTRAP_CHUNK = 1 << 22

Counts = npt.NDArray[np.int64]
Ctrs = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per agent: ``agent``, ``clicks``, ``impressions``, and the
        ``median``, ``q0.025`` and ``q0.975`` of the CTR's Beta(clicks + 1,
        misses + 1) posterior, as :func:`~recogym.test_agent` reports them.
    differences : pandas.DataFrame
        One row per pair of agents, each against every agent listed before
        it (so listing the baseline first gives gains over it):
        ``agent_a``, ``agent_b``, ``difference`` (CTR of ``agent_a`` minus
        CTR of ``agent_b``), the 95% bootstrap interval resampling users
        jointly for both agents (``paired_low``, ``paired_high``) and
        resampling them independently for each (``unpaired_low``,
        ``unpaired_high``), as an A/B test on separate users would.
    user_ids : (n,) int64 array
        The online users, the same for every agent.
    clicks, impressions : (n, agents) int64 arrays
        Each user's clicks and impressions under each agent, in the order of
        ``table``: the data of the intervals, for any other analysis.
    conversions : (n, agents) int64 array or None
        With conversions (env arg ``with_conversions``), each user's
        conversions; ``table`` then has a ``conversions`` column too.
    metric : str
        What the intervals and differences are of: ``'ctr'`` (clicks per
        impression) or ``'conversion'`` (conversions per impression).
    """

    table: pd.DataFrame
    differences: pd.DataFrame
    user_ids: Counts = field(repr=False)
    clicks: Counts = field(repr=False)
    impressions: Counts = field(repr=False)
    conversions: Counts | None = field(default=None, repr=False)
    metric: str = "ctr"


def compare(
    env_args: Mapping[str, Any] | None,
    agents: Mapping[str, Any],
    num_online_users: int,
    seed: int,
    *,
    model: str = "reco-gym-v1",
    num_offline_users: int = 1000,
    num_organic_offline_users: int = 0,
    train: bool = True,
    num_bootstrap: int = 2000,
    num_envs: int = 1024,
    metric: str = "ctr",
) -> Comparison:
    """Test several agents online on the same users, and the differences
    between their CTRs with paired intervals.

    Each agent is trained as :func:`~recogym.test_agent` trains it, on the
    same offline users (ids from 0; an agent with neither ``train`` nor
    ``train_logs`` learns nothing), then shown the same ``num_online_users``
    users (the ids after the offline ones). Agents with ``act_batch`` run in
    the batch env, the others user by user with ``act``. With slates (env
    arg ``slate_size`` k > 1) batch agents rank k products
    (:func:`~recogym.agents.base.ranking_for`), others return slates, and
    the CTR is the rate of impressions with at least one click.

    Parameters
    ----------
    env_args : dict or Configuration
        The env's arguments (``env_1_args``-style; missing keys take the
        model's defaults).
    agents : dict
        Names and agents, in the order of the report. Each is copied, so the
        caller's agents are left as they were.
    num_online_users : int
        Users each agent is tested on.
    seed : int
        The env's ``random_seed`` (it replaces ``env_args['random_seed']``)
        and the bootstrap's seed: the result is a function of the arguments.
    model : str
        ``'reco-gym-v1'`` or ``'reco-gym-v0'``.
    num_offline_users, num_organic_offline_users : int
        The logging policy's users the agents train on, as in ``test_agent``.
    train : bool
        False to use the agents as they are (trained beforehand); the online
        users are still the ids after the offline ones, so an agent trained
        on this env's first users is tested on new ones.
    num_bootstrap : int
        Bootstrap replicates of the users behind each difference's interval.
    num_envs : int
        Slots of the batch env.
    metric : {'ctr', 'conversion'}
        What to compare: the CTR, or (env arg ``with_conversions``) the
        conversion rate per impression, with the same paired intervals.

    Returns
    -------
    Comparison
        ``.table`` (one row per agent) and ``.differences`` (one per pair).

    Raises
    ------
    ValueError
        If ``env_args`` has ``rng='legacy'``: users there share one random
        stream, so no two agents can meet the same users. Also for counts,
        seeds or a model out of range, and if no user saw an impression.
    TypeError
        If an agent has neither ``act`` nor ``act_batch``, or an argument has
        the wrong type.

    Notes
    -----
    Each replicate draws ``n`` users with replacement and computes every
    agent's CTR on them as total clicks over total impressions (a ratio
    estimator, so users who saw more impressions weigh more, as in the CTR
    itself). The paired interval takes the 2.5% and 97.5% quantiles of the
    difference when both agents are evaluated on the same resampled users;
    the unpaired one resamples users independently for each agent. Their
    ratio of widths shows what pairing gains. An agent compared with itself
    gets a difference of exactly 0 and a paired interval of zero width.

    Examples
    --------
    >>> from recogym.agents import PopularityAgent, RandomAgent
    >>> result = compare({}, {'random': RandomAgent(), 'popularity': PopularityAgent()},
    ...                  10_000, seed=42)  # doctest: +SKIP
    >>> result.differences  # doctest: +SKIP
    """
    seed = check_seed("seed", seed)
    check_choice("model", model, ENV_IDS)
    num_online_users = check_positive_int("num_online_users", num_online_users)
    num_offline_users = check_count("num_offline_users", num_offline_users)
    num_organic_offline_users = check_count("num_organic_offline_users", num_organic_offline_users)
    num_bootstrap = check_positive_int("num_bootstrap", num_bootstrap)
    num_envs = check_positive_int("num_envs", num_envs)
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    _check_agents(agents)
    if env_args is not None and not isinstance(env_args, Mapping):
        raise TypeError(f"env_args must be a dict or Configuration, got {type(env_args).__name__}")
    env = make(model)
    env.init_gym({**(env_args or {}), "random_seed": seed})
    _require_paired_users(env, "env_args")
    metric = check_metric(metric, env)
    first_user = num_organic_offline_users + num_offline_users
    clicks, impressions, converted = _online_outcomes(env, agents, first_user, num_online_users, num_envs,
                                                      num_offline_users if train else None,
                                                      num_organic_offline_users)
    names = list(agents)
    conversions = converted if env.simulation.conversions else None
    successes = converted if metric == "conversion" else clicks
    table = _ctr_table(names, clicks, impressions, conversions, successes)
    rng = np.random.Generator(np.random.PCG64(seed))
    paired = _bootstrap_ctrs(rng, successes, impressions, num_bootstrap)
    unpaired = np.column_stack([_bootstrap_ctrs(rng, successes[:, [k]], impressions[:, [k]], num_bootstrap)[:, 0]
                                for k in range(len(names))])
    ctr = successes.sum(axis=0) / impressions.sum(axis=0)
    rows = []
    for b in range(len(names)):
        for a in range(b + 1, len(names)):
            paired_low, paired_high = _quantiles(paired[:, a] - paired[:, b])
            unpaired_low, unpaired_high = _quantiles(unpaired[:, a] - unpaired[:, b])
            rows.append({"agent_a": names[a], "agent_b": names[b], "difference": float(ctr[a] - ctr[b]),
                         "paired_low": paired_low, "paired_high": paired_high,
                         "unpaired_low": unpaired_low, "unpaired_high": unpaired_high})
    differences = pd.DataFrame(rows, columns=["agent_a", "agent_b", "difference", "paired_low", "paired_high",
                                              "unpaired_low", "unpaired_high"])
    user_ids = np.arange(first_user, first_user + num_online_users, dtype=np.int64)
    return Comparison(table, differences, user_ids, clicks, impressions, conversions, metric)


def verify_agents(env: RecoEnv, number_of_users: int, agents: Mapping[str, Any]) -> pd.DataFrame:
    """0.1.3.0's table of online CTRs: each agent, as it is, on the env's
    users ``0 .. number_of_users - 1``.

    Parameters
    ----------
    env : RecoEnv
        An initialised env (default random-number mode); it is not moved on.
    number_of_users : int
    agents : dict
        Names and (trained) agents; each is copied.

    Returns
    -------
    pandas.DataFrame
        Columns ``Agent``, ``0.025``, ``0.500`` and ``0.975``: the CTR's
        Beta posterior quantiles, as 0.1.3.0 reports them. :func:`compare`
        adds the paired differences.

    Raises
    ------
    ValueError
        If ``env`` has ``rng='legacy'`` or ``number_of_users`` is below 1.
    TypeError
        If ``env`` is not a RecoEnv or an agent cannot act.
    """
    if not isinstance(env, RecoEnv):
        raise TypeError(f"env must be an initialised RecoEnv, got {type(env).__name__}")
    _require_paired_users(env, "env")
    number_of_users = check_positive_int("number_of_users", number_of_users)
    _check_agents(agents)
    clicks, impressions, _ = _online_outcomes(env, agents, 0, number_of_users, 1024, None, 0)
    table = _ctr_table(list(agents), clicks, impressions)
    return pd.DataFrame({"Agent": table["agent"], "0.025": table["q0.025"], "0.500": table["median"],
                         "0.975": table["q0.975"]})


def _serves_batches(agent: Any) -> bool:
    from ..agents.base import serves_batches  # recogym.agents loads scipy.sparse: only when needed

    return serves_batches(agent)


def _check_agents(agents: Any) -> None:
    if not isinstance(agents, Mapping) or not agents:
        raise TypeError(f"agents must be a non-empty dict of names and agents, got {agents!r}")
    for name, agent in agents.items():
        if not isinstance(name, str):
            raise TypeError(f"agents must be keyed by name (str), got key {name!r}")
        if not callable(getattr(agent, "act_batch", None)) and not callable(getattr(agent, "act", None)):
            raise TypeError(f"agents[{name!r}] must have act() or act_batch(), got {agent!r}")


def _require_paired_users(env: RecoEnv, parameter: str) -> None:
    if env.simulation.legacy:
        raise ValueError(f"{parameter}: agents are paired on the same users, which needs each user's own random "
                         "stream: rng must be 'default', got 'legacy' (legacy users share one stream)")


def _online_outcomes(env: RecoEnv, agents: Mapping[str, Any], first_user: int, num_users: int, num_envs: int,
                     num_offline_users: int | None,
                     num_organic_offline_users: int) -> tuple[Counts, Counts, Counts]:
    """``(users, agents)`` clicks, impressions and conversions (0 without
    them) of each agent on the users ``first_user ..``, trained first on a
    fresh copy of ``env`` unless ``num_offline_users`` is None."""
    clicks = np.zeros((num_users, len(agents)), dtype=np.int64)
    impressions = np.zeros((num_users, len(agents)), dtype=np.int64)
    conversions = np.zeros((num_users, len(agents)), dtype=np.int64)
    for k, (name, agent) in enumerate(agents.items()):
        agent = copy.deepcopy(agent)
        if env.slate_size > 1:
            # Slates: a batch agent ranks for the env; the CTR is that of clicked impressions.
            from ..agents.base import ranking_for

            agent = ranking_for(agent, env.slate_size)
        # An agent is any object with act; only those that learn have train or train_logs.
        learns = hasattr(agent, "train_logs") or hasattr(agent, "train")
        if num_offline_users is not None and learns:
            train_offline(copy.deepcopy(env), agent, num_offline_users, num_organic_offline_users)
        if _serves_batches(agent):
            outcomes = _batch_outcomes(env, agent, first_user, num_users, num_envs)
        else:
            outcomes = _classic_outcomes(copy.deepcopy(env), agent, first_user, num_users)
        clicks[:, k], impressions[:, k], conversions[:, k] = outcomes
        if impressions[:, k].sum() == 0:
            raise ValueError(f"no user saw an impression from agents[{name!r}] (every user left during their "
                             f"first organic session): raise the number of online users, now {num_users}")
    return clicks, impressions, conversions


def _batch_outcomes(env: RecoEnv, agent: Any, first_user: int, num_users: int,
                    num_envs: int) -> tuple[Counts, Counts, Counts]:
    batch_env = BatchEnv(env, min(num_envs, num_users))
    batch_env.start(num_users, first_user)
    clicks = np.zeros(num_users, dtype=np.int64)
    impressions = np.zeros(num_users, dtype=np.int64)
    conversions = np.zeros(num_users, dtype=np.int64)
    slots = batch_env.active_slots()
    while slots.size:
        batch = batch_env.observe(slots)
        users = batch.user_ids - first_user       # a user holds one slot, so no index repeats
        chosen = agent.act_batch(batch)
        outcome, _ = batch_env.recommend(slots, chosen[0] if isinstance(chosen, tuple) else chosen)
        clicks[users] += outcome.any(axis=1) if outcome.ndim == 2 else outcome
        impressions[users] += 1
        if batch_env.conversions:
            conversions[users] += batch_env.last_conversions()[0]
        slots = batch_env.active_slots()
    return clicks, impressions, conversions


def _classic_outcomes(env: RecoEnv, agent: Any, first_user: int, num_users: int) -> tuple[Counts, Counts, Counts]:
    clicks = np.zeros(num_users, dtype=np.int64)
    impressions = np.zeros(num_users, dtype=np.int64)
    conversions = np.zeros(num_users, dtype=np.int64)
    reset_agent = getattr(agent, "reset", None)  # the notebook's agents have none
    for k in tqdm(range(num_users), desc="Testing", disable=None, leave=False):
        env.reset(first_user + k)
        if reset_agent is not None:
            reset_agent()
        observation, reward, done, _ = env.step(None)
        while not done:
            if env.slate_size > 1:
                slate = as_slate_action(agent.act(observation, reward, done), env.slate_size, env.num_products, agent)
                observation, reward, done, info = env.step(slate)
                reward = int(bool(reward))          # a clicked impression
            else:
                action = as_action(agent.act(observation, reward, done), env.num_products, agent)
                observation, reward, done, info = env.step(int(action))
            assert reward is not None
            clicks[k] += reward
            impressions[k] += 1
            conversions[k] += info.get("conversion", 0)
    return clicks, impressions, conversions


def _ctr_table(names: list[str], clicks: Counts, impressions: Counts, conversions: Counts | None = None,
               successes: Counts | None = None) -> pd.DataFrame:
    """One row per agent: its counts and the posterior of the rate of
    ``successes`` (the clicks unless given) per impression."""
    successes = clicks if successes is None else successes
    columns = ["agent", "clicks", *(["conversions"] if conversions is not None else []), "impressions",
               "median", "q0.025", "q0.975"]
    rows = []
    for k, name in enumerate(names):
        total_impressions = int(impressions[:, k].sum())
        median, low, high = ctr_interval(int(successes[:, k].sum()), total_impressions)
        row = {"agent": name, "clicks": int(clicks[:, k].sum()), "impressions": total_impressions,
               "median": median, "q0.025": low, "q0.975": high}
        if conversions is not None:
            row["conversions"] = int(conversions[:, k].sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _bootstrap_ctrs(rng: np.random.Generator, clicks: Counts, impressions: Counts, num_bootstrap: int) -> Ctrs:
    """``(num_bootstrap, agents)`` CTRs of every agent on the same resampled
    users in each replicate.

    One resample serves every pair of agents. ``scipy.stats.bootstrap``
    (``paired=True``, percentile method) gives the same interval from the
    same draws, but one pair per call, and was 1.6 times slower here even
    for a single pair (10,000 users, 2,000 replicates), so it is not used.
    """
    num_users = clicks.shape[0]
    clicks_f, impressions_f = clicks.astype(np.float64), impressions.astype(np.float64)
    ctrs = np.empty((num_bootstrap, clicks.shape[1]))
    per_chunk = max(1, _BOOTSTRAP_CHUNK // num_users)
    for start in range(0, num_bootstrap, per_chunk):
        replicates = min(per_chunk, num_bootstrap - start)
        drawn = rng.integers(0, num_users, size=(replicates, num_users))
        drawn += num_users * np.arange(replicates)[:, None]
        weights = np.bincount(drawn.ravel(), minlength=replicates * num_users).reshape(replicates, num_users)
        weights_f = weights.astype(np.float64)
        # A replicate with no impression at all (only with a handful of users) has no CTR: NaN, skipped below.
        with np.errstate(invalid="ignore"):
            ctrs[start:start + replicates] = (weights_f @ clicks_f) / (weights_f @ impressions_f)
    return ctrs


def _quantiles(differences: Ctrs) -> tuple[float, float]:
    low, high = np.nanquantile(differences, [0.025, 0.975])
    return float(low), float(high)
