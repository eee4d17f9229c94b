"""recogym's Gymnasium ids, registered without making ``import recogym``
import gymnasium (a tenth of what recogym adds to ``import numpy, pandas``).

:func:`register_when_imported` registers them at once if gymnasium is already
imported, and otherwise just after gymnasium's own import has run, whenever
that happens: ``import recogym; import gymnasium; gymnasium.make(...)`` finds
the ids either way.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["GYMNASIUM_IDS", "GYMNASIUM_ALIASES", "register_envs", "register_when_imported"]

#: Gymnasium id -> the model it runs.
GYMNASIUM_IDS = {"recogym/RecoGym-v1": "reco-gym-v1", "recogym/RecoGymClusters-v0": "reco-gym-v0"}

#: Older ids, registered as the same envs. Gymnasium reads ``RecoGym-v0`` as
#: an old version of ``RecoGym-v1`` and says it is out of date, so the cluster
#: model has its own name now.
GYMNASIUM_ALIASES = {"recogym/RecoGym-v0": "recogym/RecoGymClusters-v0"}


def register_envs() -> None:
    """Register ``recogym/RecoGym-v1``, ``recogym/RecoGymClusters-v0`` and
    its alias ``recogym/RecoGym-v0`` with Gymnasium, each with its native
    vector env; ids already registered are left as they are.

    ``gymnasium.make('recogym:recogym/RecoGym-v1')`` imports recogym, and so
    registers them, before it looks the id up.
    """
    import gymnasium

    ids = {**GYMNASIUM_IDS, **{alias: GYMNASIUM_IDS[env_id] for alias, env_id in GYMNASIUM_ALIASES.items()}}
    for env_id, model in ids.items():
        if env_id in gymnasium.registry:
            continue
        suffix = model[-1]
        gymnasium.register(
            id=env_id,
            entry_point=f"recogym.envs.gym_env:RecoGymEnv{suffix}",
            vector_entry_point=f"recogym.envs.gym_vector:RecoGymVectorEnv{suffix}",
        )


def register_when_imported() -> None:
    """:func:`register_envs` now if gymnasium is imported, else right after
    its import."""
    if "gymnasium" in sys.modules:
        register_envs()
    elif not any(isinstance(finder, _AfterGymnasium) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterGymnasium())


class _AfterGymnasium(importlib.abc.MetaPathFinder):
    """Finds gymnasium as the other finders do, with a loader that registers
    recogym's ids once gymnasium's ``__init__`` has run, and then steps aside.
    (Only a load steps it aside: ``importlib.util.find_spec('gymnasium')``,
    as libraries ask to see whether gymnasium is installed, loads nothing.)"""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "gymnasium":
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisterAfter(spec.loader)
                return spec
        return None


class _RegisterAfter(importlib.abc.Loader):
    """gymnasium's own loader, then :func:`register_envs`; the module keeps
    its own loader afterwards."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        module.__loader__ = self.loader
        self.loader.exec_module(module)
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _AfterGymnasium)]
        register_envs()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)
