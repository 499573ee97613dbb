"""Every task queue and workflow id is named by ``connection.task_queue`` / ``connection.workflow_id``.

On a server shared by a room those two put the learner's name in front; a queue or an id built
any other way (a string literal, an f-string, a fresh id on its own) is the same for every
learner, and one learner's worker takes another's task. This test reads the package, the
notebooks and ``notebooks/{checks,exercises,solutions,demos,capstone}`` (their syntax, nothing
runs) and fails on every ``task_queue=`` / ``id=`` / ``get_workflow_handle(...)`` value, and every
``….task_queue = …`` assignment, that is not named by them.

What counts as named by them (the rule, in :func:`problem`):

* a call of ``connection.task_queue`` or ``connection.workflow_id``; of ``config.task_queue`` when
  its prefix is so named (the package's workflows take the prefix of their own task queue);
* a string that *starts* with such a value (``demo.task_queue + "-nobody"``: the prefix stays first);
* an attribute or item of something (``worker.task_queue``, ``order.task_queues["payment"]``,
  ``workflow.info().workflow_id``): named where it was made, which this test reads too;
* a parameter (named by the caller); a variable or a function's return value, when what was
  assigned or returned is so named.

One exception, said where it is used: a time-skipping ``WorkflowEnvironment``'s client
(``env.client``) talks to a server of its own process, which no other learner can reach.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
FOLDERS = ("checks", "exercises", "solutions", "demos", "capstone")

#: The calls whose ``id=`` is a workflow id, and those whose first argument (or ``workflow_id=``) is one.
STARTS = {"start_workflow", "execute_workflow", "start_child_workflow", "execute_child_workflow"}
HANDLES = {"get_workflow_handle", "get_workflow_handle_for"}
HELPERS = {"task_queue", "workflow_id"}
#: The receiver of a time-skipping environment's calls (see the module docstring).
PRIVATE_SERVER = "env.client"
#: Files that read names and start or poll nothing, with the reason.
READ_ONLY = {"saga_lab/diagrams.py": "draws the task queues a history names; a default is a label"}
#: Files whose names belong to the whole room, not to one learner, with the reason.
ROOM_WIDE = {
    "saga_lab/room.py": "the room is one workflow per room that every learner's checks signal: its queue and id "
    "carry the room's name (tests/test_room.py runs three learners against it)"
}


def sources() -> list[tuple[str, str]]:
    """(shown path, Python source) of every file the rule covers; a notebook's code cells are one module."""
    found = [p for p in sorted((REPO / "saga_lab").rglob("*.py"))]
    found += [p for folder in FOLDERS for p in sorted((NOTEBOOKS / folder).glob("*.py"))]
    out = [(str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in found]
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = [
            "\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in cells
            if c.cell_type == "code" and not c.source.startswith("%%")  # a cell magic's body is not Python
        ]
        out.append((str(path.relative_to(REPO)), "\n\n".join(code)))
    return out


@dataclass
class Module:
    """One file's syntax tree, with what a name in it may be bound to."""

    path: str
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    #: How each name is imported: ``{"task_queue": "saga_lab.connection"}``, ``{"config": "saga_lab.config"}``.
    imports: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.ImportFrom):
                base = "saga_lab" if node.level and self.path.startswith("saga_lab") else ""
                source = ".".join(filter(None, [base, (node.module or "")]))
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{source}.{alias.name}".lstrip(".")

    def scopes(self, node: ast.AST) -> list[ast.AST]:
        """The functions around ``node``, innermost first, then the module."""
        chain = []
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                chain.append(node)
        return [*chain, self.tree]


def _own_nodes(scope: ast.AST):
    """The nodes of ``scope`` that are not inside a nested function."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


def bindings(scope: ast.AST, name: str) -> list[ast.AST | None] | None:
    """What ``name`` is bound to in ``scope``, or None if it is not bound there.

    Each value is an expression, or None for a parameter, a loop's or an unpacked target (not followed).
    """
    found: list[ast.AST | None] = []
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = scope.args
        if name in {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}:
            return [None]
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append(node.value)
                elif isinstance(target, ast.Tuple) and any(
                    isinstance(e, ast.Name) and e.id == name for e in target.elts
                ):
                    found.append(None)
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and isinstance(node.target, ast.Name):
            if node.target.id == name and node.value is not None:
                found.append(node.value)
        elif isinstance(node, ast.For | ast.comprehension | ast.withitem):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            if target is not None and name in {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}:
                found.append(None)
    return found or None


class Rule:
    """:func:`problem` for every file, with the functions of every file to follow a call into."""

    def __init__(self, modules: list[Module]) -> None:
        self.functions: dict[str, list[tuple[Module, ast.AST]]] = {}
        for module in modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(node.name, []).append((module, node))
        self._following: set[int] = set()

    def parameters(self, call: ast.Call) -> list[tuple[str, ast.AST]]:
        """(parameter, argument) of a call of a function these files define (methods: ``self`` dropped)."""
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        defined = self.functions.get(name)
        if not defined or len({ast.dump(f.args) for _, f in defined}) > 1:  # unknown, or several of that name
            return []
        args = defined[0][1].args
        names = [a.arg for a in [*args.posonlyargs, *args.args]]
        if names[:1] in (["self"], ["cls"]) and isinstance(func, ast.Attribute):
            names = names[1:]
        pairs = list(zip(names, call.args))
        return pairs + [(k.arg, k.value) for k in call.keywords if k.arg and k.arg not in dict(pairs)]

    def problem(self, module: Module, expr: ast.AST | None) -> str | None:
        """None when ``expr`` is named by the helpers (see the module docstring); else what it is."""
        if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
            return None
        if isinstance(expr, ast.Constant):
            return f"the literal {expr.value!r}"
        if isinstance(expr, ast.JoinedStr):
            first = expr.values[0] if expr.values else None
            if isinstance(first, ast.FormattedValue) and self.problem(module, first.value) is None:
                return None
            return f"the f-string {ast.unparse(expr)}"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            found = self.problem(module, expr.left)
            return f"{ast.unparse(expr)}, which starts with {found}" if found else None
        if isinstance(expr, ast.IfExp):
            return self.problem(module, expr.body) or self.problem(module, expr.orelse)
        if isinstance(expr, ast.BoolOp):
            return next(filter(None, (self.problem(module, value) for value in expr.values)), None)
        if isinstance(expr, ast.Call):
            return self._call(module, expr)
        if isinstance(expr, ast.Name):
            for scope in module.scopes(expr):
                values = bindings(scope, expr.id)
                if values is not None:
                    found = next(filter(None, (self.problem(module, value) for value in values)), None)
                    return f"{expr.id} = {found}" if found else None
            return f"the name {expr.id} (imported or built in, not named for this learner)"
        return None  # an attribute or an item of something named where it was made

    def _call(self, module: Module, call: ast.Call) -> str | None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        where = module.imports.get(name, "") if isinstance(func, ast.Name) else ast.unparse(func)
        if name in HELPERS and "connection" in where:
            return None
        if name == "learner_prefix":  # the helpers' own part: a name built on it is built by hand
            return f"{ast.unparse(call)}, a prefix put in front by hand"
        if name == "task_queue" and "config" in where:  # config.task_queue(service, prefix)
            prefix = (
                call.args[1]
                if len(call.args) > 1
                else next((k.value for k in call.keywords if k.arg == "prefix"), None)
            )
            found = self.problem(module, prefix)
            return f"config.task_queue with the prefix {found}" if found else None
        defined = self.functions.get(name, [])
        if not defined:
            if isinstance(func, ast.Attribute):
                return None  # a method of something else (str.lower, dict.get...): what it gives is derived
            return f"{ast.unparse(call)}, which is not task_queue() or workflow_id()"
        for owner, function in defined:
            if id(function) in self._following:
                continue
            self._following.add(id(function))
            try:
                returns = [n.value for n in _own_nodes(function) if isinstance(n, ast.Return)]
                found = next(filter(None, (self.problem(owner, value) for value in returns)), None)
            finally:
                self._following.discard(id(function))
            if found:
                return f"{ast.unparse(call)}, which returns {found}"
        return None


def _receiver(call: ast.Call) -> str:
    """The client a call goes through: ``x`` of ``x.start_workflow(...)``, the first argument of ``Worker(x, ...)``."""
    if isinstance(call.func, ast.Attribute):
        return ast.unparse(call.func.value)
    return ast.unparse(call.args[0]) if call.args else ""


def _queue_like(name: str) -> bool:
    return name.endswith(("queue", "queues"))


def _kept(value: ast.AST) -> list[ast.AST]:
    """The names a variable called ``…queues`` keeps: a dict's values, a comprehension's value."""
    if isinstance(value, ast.Dict):
        return [v for v in value.values if v is not None]
    if isinstance(value, ast.DictComp):
        return [value.value]
    if isinstance(value, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return [value.elt]
    return [value]


def named_things(module: Module, rule: Rule):
    """(line, what, value) for every task queue and workflow id the file passes or keeps."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if _receiver(node) == PRIVATE_SERVER or any(ast.unparse(arg) == PRIVATE_SERVER for arg in node.args[:1]):
                continue  # the time-skipping environment's own server: env.client.x(...), or f(env.client, ...)
            for keyword in node.keywords:
                if keyword.arg in ("task_queue", "queue") or (keyword.arg == "id" and name in STARTS):
                    yield node.lineno, f"{keyword.arg}=", keyword.value
                if keyword.arg == "workflow_id" and name in HANDLES | set(rule.functions):
                    yield node.lineno, "workflow_id=", keyword.value
            if name in HANDLES and node.args:
                yield node.lineno, f"{name}(…)", node.args[0]
            for param, arg in rule.parameters(node):  # a function of these files, given a queue or an id
                if param in ("task_queue", "queue", "workflow_id"):
                    yield node.lineno, f"{name}({param}=…)", arg
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            if isinstance(node, ast.AnnAssign) and isinstance(module.parents.get(node), ast.ClassDef):
                continue  # a record's field and its default, not a name given to anything
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                kept = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if _queue_like(kept):
                    for value in _kept(node.value):
                        yield node.lineno, f"{ast.unparse(target)} =", value


MODULES = [
    Module(path, ast.parse(text, filename=path))
    for path, text in sources()
    if path not in READ_ONLY and path not in ROOM_WIDE
]
RULE = Rule(MODULES)


@pytest.mark.parametrize("module", MODULES, ids=[m.path for m in MODULES])
def test_every_task_queue_and_workflow_id_is_named_for_the_learner(module: Module):
    found = [
        f"{module.path}:{line}: {what} {problem}"
        for line, what, value in named_things(module, RULE)
        if (problem := RULE.problem(module, value))
    ]
    assert not found, "named without connection.task_queue / workflow_id:\n" + "\n".join(found)


def test_the_private_server_exception_is_a_time_skipping_environment():
    """``env.client`` is skipped only where ``env`` is a time-skipping ``WorkflowEnvironment``."""
    users = [
        m for m in MODULES if any(isinstance(n, ast.Call) and _receiver(n) == PRIVATE_SERVER for n in ast.walk(m.tree))
    ]
    assert users, "no file uses a time-skipping environment: drop the exception"
    for module in users:
        text = ast.unparse(module.tree)
        assert "WorkflowEnvironment" in text, f"{module.path} calls env.client without a WorkflowEnvironment"


WRONG = {
    "a literal queue": 'Worker(client, task_queue="hello-task-queue", workflows=[W])',
    "a literal id": 'await client.start_workflow(W.run, x, id="order-1", task_queue=task_queue(client, "workflow"))',
    "an f-string id": 'await client.execute_workflow(W.run, x, id=f"nb00-{uuid.uuid4()}", task_queue=q)',
    "a fresh id alone": 'q = new_order_id("nb01-queue")\nWorker(client, task_queue=q)',
    "the old learner prefix": 'q = f"{learner_prefix(client)}e07-{uuid.uuid4().hex[:6]}"\nWorker(client, task_queue=q)',
    "an imported constant": "from saga_lab.config import WORKFLOW_TASK_QUEUE\n"
    "Worker(c, task_queue=WORKFLOW_TASK_QUEUE)",
    "a handle by a literal": 'client.get_workflow_handle("ORD-1")',
    "an attribute set from a literal": 'self.task_queue = "demo-queue"',
    "a helper that returns a literal": 'def queue():\n    return "trip-queue"\nWorker(client, task_queue=queue())',
    "a queue given to a function": 'def start(client, queue):\n    pass\nstart(client, "my-queue")',
    "a dict of queues": 'queues = {s: f"{run}-{s}" for s in SERVICES}',
    "config with a made-up prefix": "from saga_lab.config import task_queue\n"
    'Worker(c, task_queue=task_queue("payment", "ada/"))',
}
RIGHT = {
    "the helpers": "from saga_lab.connection import task_queue, workflow_id\n"
    'await c.start_workflow(W.run, x, id=workflow_id(c, oid), task_queue=task_queue(c, "workflow"))',
    "through a module": "from saga_lab import connection\n"
    'Worker(c, task_queue=connection.task_queue(c, new_order_id("q")))',
    "a variable": 'from saga_lab.connection import task_queue\nq = task_queue(c, "payment")\nWorker(c, task_queue=q)',
    "a suffix after a named queue": 'Worker(c, task_queue=demo.task_queue + "-nobody")',
    "a parameter": "def run(client, queue):\n    return Worker(client, task_queue=queue)",
    "a workflow's own prefix": "from saga_lab.config import task_queue\n"
    'def prefix_of(name):\n    return name[: name.rfind("/") + 1]\n'
    'execute_activity(a, task_queue=task_queue("payment", prefix_of(workflow.info().task_queue)))',
    "a time-skipping environment": 'await env.client.start_workflow(W.run, x, id="o-1", task_queue="q")',
}


def _problems(text: str) -> list[str]:
    module = Module("example.py", ast.parse(text))
    rule = Rule([module])
    return [p for _, _, value in named_things(module, rule) if (p := rule.problem(module, value))]


@pytest.mark.parametrize("code", WRONG.values(), ids=WRONG.keys())
def test_the_rule_finds_a_name_built_without_the_helpers(code: str):
    assert _problems(code), code


@pytest.mark.parametrize("code", RIGHT.values(), ids=RIGHT.keys())
def test_the_rule_accepts_names_from_the_helpers(code: str):
    assert _problems(code) == [], code
