"""The built-in agents by name: what the ``recogym`` command and
``scripts/leaderboard.py`` know how to build.

Each entry builds 0.1.3.0's ``build_agents`` default: the agent's ``*_args``
with the env's ``num_products``.
"""
from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AgentEntry", "AGENTS", "make_agent", "available_agents"]


@dataclass(frozen=True)
class AgentEntry:
    """A built-in agent.

    Attributes
    ----------
    name : str
        How the command line names it, such as ``'organic-count'``.
    title : str
        How tables name it, such as ``'OrganicCount'``.
    extra : str or None
        The extra it needs (``'sklearn'``, ``'torch'``), if any.
    build : callable
        The agent for a number of products (and a slate size: it then ranks).
    ranks : bool
        Whether it can serve slates (env arg ``slate_size`` > 1).
    """

    name: str
    title: str
    extra: str | None
    build: Callable[..., Any]
    ranks: bool = True

    def available(self) -> bool:
        """Whether the extra it needs is installed."""
        return self.extra is None or importlib.util.find_spec(self.extra) is not None


def _built(class_name: str, args_name: str) -> Callable[..., Any]:
    def build(num_products: int, slate_size: int = 1) -> Any:
        from .. import agents

        slates = {"slate_size": slate_size} if slate_size > 1 else {}
        return getattr(agents, class_name)({**getattr(agents, args_name), "num_products": num_products, **slates})

    return build


def _epsilon_greedy(num_products: int) -> Any:
    from . import BanditCount, EpsilonGreedy, bandit_count_args

    return EpsilonGreedy({}, BanditCount({**bandit_count_args, "num_products": num_products}))


_ENTRIES = [
    AgentEntry("random", "RandomAgent", None, _built("RandomAgent", "random_args")),
    AgentEntry("popularity", "PopularityAgent", None, _built("PopularityAgent", "popularity_args")),
    AgentEntry("organic-count", "OrganicCount", None, _built("OrganicCount", "organic_count_args")),
    AgentEntry("organic-user-count", "OrganicUserEventCounterAgent", None,
               _built("OrganicUserEventCounterAgent", "organic_user_count_args")),
    AgentEntry("bandit-count", "BanditCount", None, _built("BanditCount", "bandit_count_args")),
    AgentEntry("epsilon-greedy", "EpsilonGreedy(BanditCount)", None, _epsilon_greedy, ranks=False),
    AgentEntry("logreg-ips", "LogregMulticlassIpsAgent", "sklearn",
               _built("LogregMulticlassIpsAgent", "logreg_multiclass_ips_args")),
    AgentEntry("logreg-poly", "LogregPolyAgent", "sklearn", _built("LogregPolyAgent", "logreg_poly_args")),
    AgentEntry("bandit-mf", "BanditMFSquare", "torch", _built("BanditMFSquare", "bandit_mf_square_args")),
    AgentEntry("organic-mf", "OrganicMFSquare", "torch", _built("OrganicMFSquare", "organic_mf_square_args")),
    AgentEntry("nn-ips", "NnIpsAgent", "torch", _built("NnIpsAgent", "nn_ips_args")),
]

#: Every built-in agent, by command-line name, in the order tables list them.
AGENTS: dict[str, AgentEntry] = {entry.name: entry for entry in _ENTRIES}


def make_agent(name: str, num_products: int, slate_size: int = 1) -> Any:
    """The built-in agent called ``name`` (see :data:`AGENTS`) for
    ``num_products`` products; with ``slate_size`` k > 1, ranking k of them.

    Raises
    ------
    ValueError
        If ``name`` is unknown, with the closest names, or cannot rank and
        ``slate_size`` is above 1.
    """
    if name not in AGENTS:
        nearest = difflib.get_close_matches(str(name), AGENTS, n=1)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        raise ValueError(f"unknown agent {name!r}{hint} Choose from {', '.join(AGENTS)}")
    entry = AGENTS[name]
    if slate_size == 1:
        return entry.build(num_products)
    if not entry.ranks:
        rankers = ", ".join(other.name for other in AGENTS.values() if other.ranks)
        raise ValueError(f"agent {name!r} recommends one product and cannot rank slates (slate_size = "
                         f"{slate_size}); agents that rank: {rankers}")
    return entry.build(num_products, slate_size)


def available_agents() -> list[AgentEntry]:
    """The entries whose extras are installed."""
    return [entry for entry in AGENTS.values() if entry.available()]
