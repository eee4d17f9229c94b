"""The env front ends, all stepping through the same driver: the classic
RecoGym env (:mod:`~recogym.envs.classic`), the lockstep batch env
(:mod:`~recogym.envs.batch`), and the Gymnasium env and native vector env
(:mod:`~recogym.envs.gym_env`, :mod:`~recogym.envs.gym_vector`)."""
from ..params import Configuration, env_0_args, env_1_args
from ..session import Context, DefaultContext, Observation, Session
from .batch import BatchEnv, evaluate_batch
from .classic import ENV_IDS, RecoEnv, RecoEnv0, RecoEnv1, make

__all__ = ["RecoEnv", "RecoEnv0", "RecoEnv1", "make", "ENV_IDS", "BatchEnv", "evaluate_batch", "Configuration",
           "env_0_args", "env_1_args", "Observation", "Session", "Context", "DefaultContext"]
