"""The shape of the package a learner copies, read from its source (``ast``), never by importing it.

- Every module imports only from its own layer or the layers below it, in the order
  ``saga_lab/__init__.py`` lists them, so there is no import cycle either.
- No private ``temporalio`` module is imported (``temporalio.worker._worker``), and no
  attribute of a ``temporalio`` object is assigned (no SDK class patched).

Each rule is shown to catch a synthetic defect first.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "saga_lab"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layers(docstring: str) -> dict[str, int]:
    """``{"config": 0, "services": 1, ...}`` from the bullet list ``- ``a``, ``b`` (``c``): what they do``."""
    found: dict[str, int] = {}
    bullets = [match.group(1) for line in docstring.splitlines() if (match := re.match(r"- (.+?): ", line))]
    for rank, names in enumerate(bullets):
        found |= dict.fromkeys(re.findall(r"``(\w+)``", names), rank)
    return found


def imports(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The ``known`` modules that ``source`` (module ``name``) imports, at any depth of the file."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target not in (name, "saga_lab"):
                found.add(target)
    return found


def layer_of(module: str, ranks: dict[str, int]) -> int:
    """The rank of ``saga_lab.chaos.runner``'s top-level name (``chaos``)."""
    return ranks[module.split(".")[1]]


def upward_imports(graph: dict[str, set[str]], ranks: dict[str, int]) -> list[str]:
    return sorted(
        f"{module} (layer {layer_of(module, ranks)}) imports {other} (layer {layer_of(other, ranks)})"
        for module, others in graph.items()
        for other in others
        if module != "saga_lab" and layer_of(other, ranks) > layer_of(module, ranks)
    )


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (``[a, b, a]``), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for other in sorted(graph.get(node, ())):
            if state.get(other) == 1:
                return path[path.index(other) :] + [other]
            if other not in state and (found := visit(other, path + [other])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def sdk_misuse(source: str) -> list[str]:
    """Private ``temporalio`` imports, and SDK classes patched: an assignment to an attribute of a ``temporalio``
    class (``Worker.__init__ = ...``) or to a dunder, or any ``setattr`` on what came from ``temporalio``.

    A documented setting of an SDK object is not patching: ``workflow.logger.workflow_info_on_message = False``.
    """
    tree, found, sdk_names = ast.parse(source), [], set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] == "temporalio":
                    if any(part.startswith("_") for part in module.split(".")):
                        found.append(f"line {node.lineno}: imports the private {module}")
                    sdk_names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    for node in ast.walk(tree):
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for target in targets:
            root = target
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(target, ast.Attribute) and isinstance(root, ast.Name) and root.id in sdk_names):
                continue
            chain = ast.unparse(target).split(".")
            if target.attr in ("?",) or target.attr.startswith("__") or any(part[:1].isupper() for part in chain):
                found.append(f"line {node.lineno}: assigns {ast.unparse(target)}, an attribute of the SDK")
    return sorted(found, key=lambda line: int(line.split()[1].rstrip(":")))


def package_graph() -> dict[str, set[str]]:
    known = set(MODULES)
    return {name: imports(path.read_text(), name, path.name == "__init__.py", known) for name, path in MODULES.items()}


RANKS = layers(ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text())) or "")


# ---------------------------------------------------------------- the rules catch what they must


def test_the_rules_catch_synthetic_defects():
    ranks = layers("- ``config``: x\n- ``services``, ``faults`` (``models``): y\n- ``cli``: z")
    assert ranks == {"config": 0, "services": 1, "faults": 1, "models": 1, "cli": 2}
    known = {"saga_lab.config", "saga_lab.cli", "saga_lab.services", "saga_lab.services.store"}
    assert imports("from ..cli import main\nimport os", "saga_lab.services.store", False, known) == {"saga_lab.cli"}
    assert imports("from . import store", "saga_lab.services", True, known) == {"saga_lab.services.store"}
    assert imports("def f():\n    from saga_lab import config", "saga_lab.cli", False, known) == {"saga_lab.config"}
    graph = {"saga_lab.services.store": {"saga_lab.cli"}, "saga_lab.cli": {"saga_lab.config"}}
    assert upward_imports(graph, ranks) == ["saga_lab.services.store (layer 1) imports saga_lab.cli (layer 2)"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    patched = "from temporalio.worker import Worker\nfrom temporalio.worker._worker import load\nWorker.__init__ = f\n"
    patched += "import temporalio.client\nsetattr(temporalio.client, 'Client', object)\nx.y = 1\n"
    patched += "temporalio.client.logger.info_on_message = False\ntemporalio.client.__getattr__ = g\n"
    assert sdk_misuse(patched) == [
        "line 2: imports the private temporalio.worker._worker",
        "line 3: assigns Worker.__init__, an attribute of the SDK",
        "line 5: assigns temporalio.client.?, an attribute of the SDK",
        "line 8: assigns temporalio.client.__getattr__, an attribute of the SDK",
    ]


# ---------------------------------------------------------------- the package follows them


def test_every_module_has_a_layer():
    assert len(RANKS) > 10, RANKS
    missing = sorted({name.split(".")[1] for name in MODULES if name != "saga_lab"} - set(RANKS))
    assert not missing, f"saga_lab/__init__.py lists no layer for {missing}"


def test_modules_import_only_from_their_layer_or_below_and_never_in_a_cycle():
    graph = package_graph()
    assert not upward_imports(graph, RANKS), "\n".join(upward_imports(graph, RANKS))
    assert not cycle(graph), " -> ".join(cycle(graph))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_sdk_import_and_no_sdk_class_patched(name):
    assert not sdk_misuse(MODULES[name].read_text()), sdk_misuse(MODULES[name].read_text())
