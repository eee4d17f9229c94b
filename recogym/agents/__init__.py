"""Agents: objects with ``train(observation, action, reward, done)`` and
``act(observation, reward, done)``."""
from .base import Agent, BatchAgent, UserBatch, keyed_uniform
from .popularity import PopularityAgent, popularity_args
from .random_agent import RandomAgent, random_args

__all__ = ["Agent", "BatchAgent", "UserBatch", "keyed_uniform", "RandomAgent", "random_args", "PopularityAgent", "popularity_args"]
