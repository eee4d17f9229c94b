"""Module paths of recogym 0.2's flat layout and of RecoGym 0.1.3.0, kept
as aliases of the modules that now hold their code, so that code importing
them still runs (and the few names that moved out of a module that stayed).

``import recogym.parquet`` gives the module object ``recogym.io.parquet``
itself (the same functions, the same state). Modules the package has already
imported are aliased at once; the others on first import, so an alias costs
nothing until it is used. (``recogym.compare`` and ``recogym.sweep`` stay the
functions: ``from recogym.compare import compare`` still works.)
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "MOVED_NAMES", "install"]

#: Old module path -> the module that holds its code now.
MOVED = {
    "recogym.env": "recogym.envs.classic",
    "recogym.batch": "recogym.envs.batch",
    "recogym.gym_env": "recogym.envs.gym_env",
    "recogym.gym_vector": "recogym.envs.gym_vector",
    "recogym.compare": "recogym.evaluation.compare",
    "recogym.ope": "recogym.evaluation.ope",
    "recogym.evolution": "recogym.evaluation.evolution",
    "recogym.sweep": "recogym.evaluation.sweep",
    "recogym.parallel": "recogym.sim.parallel",
    "recogym.parquet": "recogym.io.parquet",
    "recogym.obp": "recogym.io.obp",
    # RecoGym 0.1.3.0's module paths.
    "recogym.envs.abstract": "recogym.envs.classic",
    "recogym.envs.reco_env_v0": "recogym.envs.classic",
    "recogym.envs.reco_env_v1": "recogym.envs.classic",
    "recogym.envs.observation": "recogym.session",
    "recogym.envs.session": "recogym.session",
    "recogym.envs.context": "recogym.session",
    "recogym.envs.configuration": "recogym.params",
    "recogym.envs.features": "recogym.time_generators",
    "recogym.envs.features.time": "recogym.time_generators",
    "recogym.envs.features.time.time_generator": "recogym.time_generators",
    "recogym.envs.features.time.default_time_generator": "recogym.time_generators",
    "recogym.envs.features.time.normal_time_generator": "recogym.time_generators",
    "recogym.bench_agents": "recogym.evaluation.online",
    "recogym.evaluate_agent": "recogym.compat.evaluate_agent",
    "recogym.constants": "recogym.compat.constants",
    "recogym.competition": "recogym.compat.competition",
}


#: (module, name) -> where the name lives now, for names that moved out of a
#: module that stays: that module imports nothing above it.
MOVED_NAMES = {("recogym.logs", "to_obp"): ("recogym.io.obp", "to_obp")}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.target_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias's spec on the module; it stays the target's own.
        module.__spec__ = self.target_spec


class _Package(ModuleType):
    """The package's module type. An old path named like a function of the
    package (``recogym.compare``, 0.1.3.0's ``recogym.evaluate_agent``,
    both a module and a function) leaves the package's attribute the
    function when it is imported, as 0.1.3.0's ``from .evaluate_agent import
    evaluate_agent`` did, however late the module is first imported."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, ModuleType) and MOVED.get(f"{self.__name__}.{name}") == value.__name__
                and callable(getattr(value, name, None))):
            value = getattr(value, name)
        super().__setattr__(name, value)


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(MOVED[fullname]))


def install() -> None:
    """Make the old paths importable (once per interpreter)."""
    sys.modules[__package__].__class__ = _Package
    for old, new in MOVED.items():
        parent, _, name = old.rpartition(".")
        if new in sys.modules and parent in sys.modules:
            # Registered before any import of the old path, which then never
            # rebinds the package's attribute of that name (a function of the
            # same name stays) to the module.
            sys.modules.setdefault(old, sys.modules[new])
            package = sys.modules[parent]
            if not hasattr(package, name):
                setattr(package, name, sys.modules[new])
    for (module, name), (home, attribute) in MOVED_NAMES.items():
        setattr(importlib.import_module(module), name, getattr(importlib.import_module(home), attribute))
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
