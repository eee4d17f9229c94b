"""The package's layout: every module imports on its own, imports point one
way through the layers, and no module reads another's private attributes.

The layers, from the bottom: the checks and the engine; the data types; the
model; the drivers (``recogym.sim``) and the agents; the env front ends;
evaluation and I/O; plots and the command line.
"""
import ast
import concurrent.futures
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import recogym

PACKAGE = Path(recogym.__file__).parent

# Lower layers never import higher ones; a module may import its own layer.
LAYERS = [
    ("recogym._checks", "recogym._version", "recogym._core", "recogym._moved", "recogym._progress"),
    ("recogym.params", "recogym.session", "recogym.logs", "recogym.policies", "recogym.time_generators"),
    ("recogym.model", "recogym._reference"),
    ("recogym.sim", "recogym.agents"),
    ("recogym.envs",),
    ("recogym.evaluation", "recogym.io", "recogym.dask", "recogym.integrations"),
    ("recogym.plots", "recogym.demo", "recogym.compat"),
    ("recogym.cli", "recogym.__main__", "recogym"),
]


def layer_of(module):
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (level, len(prefix))
    assert best is not None, f"{module} belongs to no layer of tests/test_layout.py"
    return best[0]


def modules():
    names = ["recogym"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="recogym."):
        names.append(info.name)
    return sorted(names)


def source_path(module):
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def imports_of(module, top_level_only=False):
    """The recogym modules ``module`` imports (resolved), and where."""
    path = source_path(module)
    if path is None:
        return []
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("recogym")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("recogym"):
                continue
            # "from . import x" may name a submodule.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.append((candidate if _is_module(candidate) else target, node.lineno))
    return found


def _is_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


ALL_MODULES = modules()


def test_every_module_belongs_to_a_layer():
    for module in ALL_MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", [m for m in ALL_MODULES if source_path(m)])
def test_imports_point_down_the_layers(module):
    for target, line in imports_of(module):
        if target in ("recogym._moved",):
            continue
        assert layer_of(target) <= layer_of(module), (
            f"{module}:{line} imports {target}, a higher layer")


def test_no_import_cycle():
    graph = {module: {target for target, _ in imports_of(module, top_level_only=True) if target != module}
             for module in ALL_MODULES if source_path(module)}
    # A package imports its submodules through its __init__, which Python
    # runs first: an edge from a submodule to its own package is not a cycle.
    for module, targets in graph.items():
        targets.difference_update({t for t in targets if module.startswith(t + ".")})
    visiting, done = set(), set()

    def visit(node, path):
        if node in done:
            return
        assert node not in visiting, f"import cycle: {' -> '.join(path + [node])}"
        visiting.add(node)
        for target in sorted(graph.get(node, ())):
            visit(target, path + [node])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_no_module_reads_another_objects_private_attributes():
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Name) and owner.id in ("os", "sys"):
                continue            # the standard library's own underscore names, such as os._exit
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {ast.unparse(node)}")
    assert not found, "\n".join(found)


# Modules that wrap an optional extra import it themselves; where the extra
# is not installed (the wheel's bare test venvs), they need not import.
OPTIONAL_PACKAGES = ("torch", "sklearn", "dask", "distributed", "matplotlib", "stable_baselines3", "torchrl",
                     "tensordict", "minari", "obp")


def _import_alone(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})
    missing = [package for package in OPTIONAL_PACKAGES
               if f"No module named '{package}" in result.stderr and importlib.util.find_spec(package) is None]
    return module, 0 if missing else result.returncode, result.stderr


def test_every_module_imports_alone_in_a_fresh_interpreter():
    libraries = [module for module in ALL_MODULES if module != "recogym.__main__"]  # that one runs the command
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        failures = [f"{module}:\n{stderr}" for module, code, stderr in pool.map(_import_alone, libraries)
                    if code != 0]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("old, new", [("recogym.parquet", "recogym.io.parquet"), ("recogym.env", "recogym.envs.classic"),
                                      ("recogym.gym_vector", "recogym.envs.gym_vector")])
def test_the_flat_paths_of_0_2_still_import(old, new):
    code = f"import {old} as a, {new} as b, sys; assert sys.modules['{old}'] is b and a is b"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_functions_named_like_old_modules_stay_functions():
    import recogym.compare  # noqa: F401
    import recogym.sweep  # noqa: F401

    assert callable(recogym.compare) and callable(recogym.sweep)
    from recogym.compare import compare

    assert compare is recogym.compare
