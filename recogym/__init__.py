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
"""
from . import _moved
from ._version import __version__
from . import agents
from .envs.batch import BatchEnv, evaluate_batch
from .envs.classic import RecoEnv, RecoEnv0, RecoEnv1, make
from .envs.gym_env import CumulativeViewCounts, register_envs
from .evaluation.compare import Comparison, compare, verify_agents
from .evaluation.evolution import TrainingApproach, evaluate_agent, gather_exploration_stats, plot_evolution
from .evaluation.online import AgentResult, ctr_interval, test_agent
from .evaluation.ope import evaluate_policy, verify_agents_IPS
from .evaluation.sweep import sweep
from .io.parquet import logs_from_arrow, logs_to_arrow, read_log_metadata, read_logs, simulation_kwargs, write_logs
from .io.parquet import write_dataset
from .logs import EventKind, Logs
from .params import (
    Configuration,
    DefaultTimeGenerator,
    NormalTimeGenerator,
    env_0_args,
    env_1_args,
    env_args,
)
from .policies import UserPopularity
from .session import Action, Context, Session, UserBatch
from .sim.parallel import simulate_parallel
from . import plots  # imports matplotlib only when a figure is drawn

__all__ = [
    "Action",
    "AgentResult",
    "BatchEnv",
    "Comparison",
    "Configuration",
    "Context",
    "CumulativeViewCounts",
    "DefaultTimeGenerator",
    "EventKind",
    "Logs",
    "NormalTimeGenerator",
    "RecoEnv",
    "RecoEnv0",
    "RecoEnv1",
    "Session",
    "TrainingApproach",
    "UserBatch",
    "UserPopularity",
    "__version__",
    "agents",
    "compare",
    "ctr_interval",
    "env_0_args",
    "env_1_args",
    "env_args",
    "evaluate_agent",
    "evaluate_batch",
    "evaluate_policy",
    "gather_exploration_stats",
    "logs_from_arrow",
    "logs_to_arrow",
    "make",
    "plot_evolution",
    "plots",
    "read_log_metadata",
    "read_logs",
    "simulate_parallel",
    "simulation_kwargs",
    "sweep",
    "test_agent",
    "verify_agents",
    "verify_agents_IPS",
    "write_dataset",
    "write_logs",
]

_moved.install()
register_envs()
