"""recogym: a fast, faithful RecoGym, the reinforcement-learning simulator for
product recommendation.

>>> import recogym
>>> env = recogym.make('reco-gym-v1')
>>> env.init_gym({**recogym.env_1_args, 'random_seed': 42})
>>> env.reset()
>>> observation, reward, done, info = env.step(None)
"""
from . import agents
from .env import RecoEnv, RecoEnv0, RecoEnv1, make
from .batch import BatchEnv, evaluate_batch
from .compare import Comparison, compare, verify_agents
from .evaluation import AgentResult, ctr_interval, test_agent
from .evolution import TrainingApproach, evaluate_agent, gather_exploration_stats, plot_evolution
from .gym_env import CumulativeViewCounts, register_envs
from .logs import Logs
from .ope import evaluate_policy, verify_agents_IPS
from .parallel import simulate_parallel
from .parquet import logs_from_arrow, logs_to_arrow, read_log_metadata, read_logs, simulation_kwargs, write_logs
from .params import (
    Configuration,
    DefaultTimeGenerator,
    NormalTimeGenerator,
    env_0_args,
    env_1_args,
    env_args,
)
from .policies import UserPopularity
from .session import Action, Context, Session
from .sweep import sweep
from . import plots  # imports matplotlib only when a figure is drawn

__version__ = "0.2.0"

__all__ = [
    "Action",
    "AgentResult",
    "BatchEnv",
    "Comparison",
    "Configuration",
    "Context",
    "CumulativeViewCounts",
    "DefaultTimeGenerator",
    "Logs",
    "NormalTimeGenerator",
    "RecoEnv",
    "RecoEnv0",
    "RecoEnv1",
    "Session",
    "TrainingApproach",
    "UserPopularity",
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
    "write_logs",
]

register_envs()
