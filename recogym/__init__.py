"""recogym: a fast, faithful RecoGym, the reinforcement-learning simulator for
product recommendation.

>>> import recogym
>>> env = recogym.make('reco-gym-v1')
>>> env.init_gym({**recogym.env_1_args, 'random_seed': 42})
>>> env.reset()
>>> observation, reward, done, info = env.step(None)

The packages, from the bottom up (see ``docs/architecture.md``): the data
types (:mod:`recogym.logs`, :mod:`recogym.session`, :mod:`recogym.params`,
:mod:`recogym.policies`) and the engine (:mod:`recogym.model`,
``recogym._core``); :mod:`recogym.sim`, the drivers' Python faces;
:mod:`recogym.envs`, the front ends; :mod:`recogym.agents`;
:mod:`recogym.evaluation` and :mod:`recogym.io`; the command line.

``import recogym`` loads the envs, their data types and the online
evaluation; recogym's Gymnasium ids are registered as soon as gymnasium is
imported, without importing it (:mod:`recogym.envs.registration`). The other names of ``__all__`` (the agents,
off-policy evaluation, Parquet and plots) are imported on first use, through the module's ``__getattr__``
(PEP 562), so that scipy's sparse and stats modules, pyarrow's Parquet
reader and the optional extras cost nothing until they are asked for.
"""
from __future__ import annotations

import importlib
from typing import Any

from . import _moved
from ._version import __version__
from .envs.batch import BatchEnv, evaluate_batch
from .envs.classic import RecoEnv, RecoEnv0, RecoEnv1, make
from .envs.registration import register_envs, register_when_imported
# Eager, as they are cheap: bound here, the functions compare and sweep keep
# their names when `import recogym.compare` (an old module path, see _moved)
# would otherwise bind the module to them.
from .evaluation.compare import Comparison, compare
from .evaluation.online import AgentResult, ctr_interval, test_agent
from .evaluation.sweep import sweep
from .logs import EventKind, Logs
from .params import (
    Configuration,
    DefaultTimeGenerator,
    NormalTimeGenerator,
    env_0_args,
    env_1_args,
    env_args,
)
from .policies import UserPopularity, UserPopularityRanking
from .session import Action, Context, DefaultContext, Observation, Session, SlateAction, UserBatch
from .sim.parallel import simulate_parallel

#: Names imported on first use: name -> the module that holds it (a module
#: itself where the name is that of a subpackage).
_LAZY = {
    "agents": "recogym.agents",
    "CumulativeViewCounts": "recogym.envs.gym_env",
    "plots": "recogym.plots",
    "TrainingApproach": "recogym.evaluation.evolution",
    "evolve_agent": "recogym.evaluation.evolution",
    "exploration_table": "recogym.evaluation.evolution",
    "plot_evolution": "recogym.evaluation.evolution",
    # RecoGym 0.1.3.0's top-level names (recogym.compat).
    "AgentStats": "recogym.compat.constants",
    "AgentInit": "recogym.compat.constants",
    "EvolutionCase": "recogym.compat.constants",
    "RoiMetrics": "recogym.compat.constants",
    "evaluate_agent": "recogym.compat.evaluate_agent",
    "build_agent_init": "recogym.compat.evaluate_agent",
    "gather_agent_stats": "recogym.compat.evaluate_agent",
    "plot_agent_stats": "recogym.compat.evaluate_agent",
    "gather_exploration_stats": "recogym.compat.evaluate_agent",
    "plot_evolution_stats": "recogym.compat.evaluate_agent",
    "plot_heat_actions": "recogym.compat.evaluate_agent",
    "plot_roi": "recogym.compat.evaluate_agent",
    "verify_agents": "recogym.compat.evaluate_agent",
    "verify_agents_IPS": "recogym.compat.evaluate_agent",
    "to_categorical": "recogym.compat.evaluate_agent",
    "competition_score": "recogym.compat.competition",
    "evaluate_policy": "recogym.evaluation.ope",
    "logs_from_arrow": "recogym.io.parquet",
    "logs_to_arrow": "recogym.io.parquet",
    "read_log_metadata": "recogym.io.parquet",
    "read_logs": "recogym.io.parquet",
    "simulation_kwargs": "recogym.io.parquet",
    "write_logs": "recogym.io.parquet",
}

__all__ = [
    "Action",
    "AgentInit",
    "AgentResult",
    "AgentStats",
    "BatchEnv",
    "Comparison",
    "Configuration",
    "Context",
    "DefaultContext",
    "CumulativeViewCounts",
    "DefaultTimeGenerator",
    "EventKind",
    "EvolutionCase",
    "Logs",
    "NormalTimeGenerator",
    "RecoEnv",
    "RecoEnv0",
    "RecoEnv1",
    "RoiMetrics",
    "Observation",
    "Session",
    "SlateAction",
    "TrainingApproach",
    "UserBatch",
    "UserPopularity",
    "UserPopularityRanking",
    "__version__",
    "register_envs",
    "agents",
    "build_agent_init",
    "compare",
    "competition_score",
    "ctr_interval",
    "env_0_args",
    "env_1_args",
    "env_args",
    "evaluate_agent",
    "evaluate_batch",
    "evaluate_policy",
    "evolve_agent",
    "exploration_table",
    "gather_agent_stats",
    "gather_exploration_stats",
    "logs_from_arrow",
    "logs_to_arrow",
    "make",
    "plot_agent_stats",
    "plot_evolution",
    "plot_evolution_stats",
    "plot_heat_actions",
    "plot_roi",
    "plots",
    "read_log_metadata",
    "read_logs",
    "simulate_parallel",
    "simulation_kwargs",
    "sweep",
    "test_agent",
    "to_categorical",
    "verify_agents",
    "verify_agents_IPS",
    "write_logs",
]


def __getattr__(name: str) -> Any:
    """A name of :data:`_LAZY`, imported now and kept, so the next lookup is
    an ordinary attribute."""
    if name not in _LAZY:
        raise AttributeError(f"module 'recogym' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


_moved.install()
register_when_imported()
