"""Agents: objects with ``train(observation, action, reward, done)`` and
``act(observation, reward, done)``."""
from .base import Agent
from .popularity import PopularityAgent, popularity_args
from .random_agent import RandomAgent, random_args

__all__ = ["Agent", "RandomAgent", "random_args", "PopularityAgent", "popularity_args"]
