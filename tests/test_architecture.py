"""Layering rules from DESIGN.md, checked on the source, plus docs that must stay current."""

from __future__ import annotations

import ast
import builtins
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_codex"

#: package (relative to jupyter_codex) -> module prefixes it must never import
FORBIDDEN = {
    "supervisor": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.workspace",
        "jupyter_codex.handlers",
        "jupyter_codex.store",
        "jupyter_codex.accounts",
    ],
    "store": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.supervisor",
        "jupyter_codex.workspace",
        "jupyter_codex.handlers",
    ],
    "workspace": ["tornado", "jupyter_server", "jupyter_codex.handlers"],
    "core.py": ["tornado", "jupyter_server", "jupyter_codex.handlers", "jupyter_codex.app"],
    "cli.py": ["tornado", "jupyter_server", "jupyter_codex.handlers", "jupyter_codex.app"],
    "accounts": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.supervisor",
        "jupyter_codex.workspace",
        "jupyter_codex.handlers",
    ],
    "usage": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.supervisor",
        "jupyter_codex.workspace",
        "jupyter_codex.handlers",
    ],
    "proxy": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.handlers",
        "jupyter_codex.workspace",
        "jupyter_codex.supervisor",
    ],
    "errors.py": ["tornado", "jupyter_server", "jupyter_codex."],
    # Shared plumbing: leaves that every layer may use.
    "tasks.py": ["tornado", "jupyter_server", "jupyter_codex."],
    "listeners.py": ["tornado", "jupyter_server", "jupyter_codex."],
    "http.py": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.handlers",
        "jupyter_codex.workspace",
        "jupyter_codex.supervisor",
        "jupyter_codex.accounts",
        "jupyter_codex.proxy",
        "jupyter_codex.usage",
    ],
    # Services the composition roots build: never the web layer.
    "status.py": ["tornado", "jupyter_server", "jupyter_codex.handlers", "jupyter_codex.app"],
    "wiring.py": ["tornado", "jupyter_server", "jupyter_codex.handlers", "jupyter_codex.app"],
    # Deployment helpers (hub/demo status, culler keep-alive) stay framework-free.
    "activity.py": ["tornado", "jupyter_server", "jupyter_codex."],
    "deployment.py": ["tornado", "jupyter_server", "jupyter_codex."],
    "models.py": [
        "tornado",
        "jupyter_server",
        "jupyter_codex.supervisor",
        "jupyter_codex.workspace",
        "jupyter_codex.store",
    ],
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = "jupyter_codex." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rstrip(".").split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_layers_do_not_import_upwards(area: str) -> None:
    target = PACKAGE / area
    files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            for prefix in FORBIDDEN[area]:
                bare = prefix.rstrip(".")
                assert name != bare and not name.startswith((bare + ".", prefix)), (
                    f"{path.name} imports {name}"
                )


#: What kernel-side modules (``kernel/``, ``client/``) may import from jupyter_codex.
KERNEL_ALLOWED_INTERNAL = (
    "jupyter_codex.errors",
    "jupyter_codex.models",
    "jupyter_codex.kernel",
    "jupyter_codex.client",
)
#: Third-party packages the client library (``client/``) may import.
CLIENT_THIRD_PARTY = ("httpx", "websockets", "pydantic", "typing_extensions", "anyio")


def test_kernel_side_imports_only_the_client_errors_and_models() -> None:
    files = sorted((PACKAGE / "kernel").rglob("*.py")) + sorted((PACKAGE / "client").rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            if name in ("jupyter_codex", "jupyter_codex.__version__") or not name.startswith(
                ("jupyter_codex.", "tornado", "jupyter_server", "jupyter_client")
            ):
                continue
            assert name.startswith(KERNEL_ALLOWED_INTERNAL), f"{path.name} imports {name}"


def test_client_library_is_standalone() -> None:
    """``jupyter_codex.client`` is the library: it never imports the kernel integration
    (IPython, ipywidgets, ``jupyter_codex.kernel``) and only a few third-party packages."""
    files = sorted((PACKAGE / "client").rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            assert not name.startswith("jupyter_codex.kernel"), f"{path.name} imports {name}"
            top = name.split(".")[0]
            if top in ("", "jupyter_codex") or top in sys.stdlib_module_names:
                continue
            assert top in CLIENT_THIRD_PARTY, f"client module {path.name} imports {name}"


def test_kernel_widgets_stay_optional() -> None:
    """ipywidgets is an extra: outside ``kernel/widgets/`` it is imported lazily
    (inside a function), never at module level, so ``%codex`` loads without it."""
    for path in sorted((PACKAGE / "kernel").rglob("*.py")):
        if "widgets" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.level:
                    names = [f".{node.module or ''}"]
            else:
                continue
            for name in names:
                assert not name.startswith(("ipywidgets", ".widgets")), (
                    f"{path.name} imports {name} at module level"
                )


def test_importing_the_client_never_loads_the_server() -> None:
    code = (
        "import sys, jupyter_codex, jupyter_codex.kernel, jupyter_codex.client;"
        "assert jupyter_codex.CodexClient is jupyter_codex.kernel.CodexClient;"
        "assert jupyter_codex.kernel.CodexClient is jupyter_codex.client.CodexClient;"
        "bad = [m for m in sys.modules if m.startswith(('tornado', 'jupyter_server', "
        "'jupyter_codex.app', 'jupyter_codex.handlers', 'jupyter_codex.workspace', "
        "'jupyter_codex.store', 'jupyter_codex.supervisor', 'jupyter_codex.accounts', "
        "'IPython', 'ipywidgets'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_configuration_reference_is_current() -> None:
    script = PACKAGE.parent / "docs" / "generate_config_reference.py"
    result = subprocess.run([sys.executable, str(script), "--check"], check=False)
    assert result.returncode == 0, "run: python docs/generate_config_reference.py"


def _calls(path: Path) -> list[tuple[str, int]]:
    """Dotted names of every call in a file (``httpx.AsyncClient``, ``asyncio.create_task``)."""
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            parts: list[str] = []
            func: ast.expr = node.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
            out.append((".".join(reversed(parts)), node.lineno))
    return out


def _server_files() -> list[Path]:
    """The server's modules (the kernel side and the client library have their own rules)."""
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] not in ("kernel", "client")
    ]


def test_only_the_factory_builds_http_clients() -> None:
    """Every outbound httpx client comes from ``http.py`` (one TLS/CA/limits policy).

    The ``jupyter codex`` commands (``cli*.py``) are clients of a server, like ``client/``."""
    for path in _server_files():
        if path == PACKAGE / "http.py" or path.name.startswith("cli"):
            continue
        for name, line in _calls(path):
            assert name not in (
                "httpx.AsyncClient",
                "httpx.Client",
                "AsyncClient",
                "ssl.create_default_context",
                "ssl.SSLContext",
            ), f"{path.relative_to(PACKAGE)}:{line} builds {name}; use jupyter_codex.http"


def test_no_bare_tasks_outside_the_task_owner() -> None:
    """Background work goes through ``tasks.py`` (TaskOwner and its helpers), so every
    task has an owner that stops and awaits it. No file is exempt."""
    for path in _server_files():
        rel = str(path.relative_to(PACKAGE))
        if rel == "tasks.py":
            continue
        bare = [
            (name, line)
            for name, line in _calls(path)
            if name
            in ("asyncio.create_task", "asyncio.ensure_future", "loop.create_task", "create_task")
        ]
        assert not bare, f"{rel} starts tasks itself at {bare}; use jupyter_codex.tasks"


def test_no_asyncio_wait_for_in_the_server() -> None:
    """``asyncio.wait_for`` before Python 3.12 swallows a cancellation that arrives as
    its work completes, so a stopping loop went on and its owner waited forever (a
    teardown hang at stop 24): the server uses ``tasks.within``. No file is exempt."""
    for path in _server_files():
        rel = str(path.relative_to(PACKAGE))
        found = [line for name, line in _calls(path) if name in ("asyncio.wait_for", "wait_for")]
        assert not found, f"{rel} calls asyncio.wait_for at lines {found}; use tasks.within"


def test_the_restarter_uses_only_the_managers_public_surface() -> None:
    """jupyter_client's rule: the restarter is swappable because it needs nothing private."""
    path = PACKAGE / "supervisor" / "restarter.py"
    assert not any(n.startswith("jupyter_codex.supervisor.manager") for n in _imports(path))
    tree = ast.parse(path.read_text())
    private = sorted(
        {
            f"manager.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "manager"
            and node.attr.startswith("_")
        }
    )
    assert not private, f"the restarter reaches into the manager: {private}"


def test_supervisor_state_changes_go_through_the_transition_table() -> None:
    """No ``_state`` assignments scattered in the manager: ``state.Lifecycle.to`` only."""
    for path in sorted((PACKAGE / "supervisor").glob("*.py")):
        if path.name == "state.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    assert not (
                        isinstance(target, ast.Attribute) and target.attr in ("_state", "_ready")
                    ), f"{path.name}:{node.lineno} sets {target.attr} outside state.py"


def _exception_classes() -> dict[str, tuple[str, list[str]]]:
    """``"file:Class" -> (file, base names)`` for every class in the package."""
    out: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).split(".")[-1] for b in node.bases]
                out[f"{rel}:{node.name}"] = (rel, bases)
    return out


def test_every_exception_is_in_the_one_error_tree() -> None:
    """Every exception class the package defines descends from ``errors.CodexError``,
    or from ``errors.Signal`` (control flow, not an error: see errors.py); module-private
    ``_Signal`` classes that never leave their module excepted."""
    classes = _exception_classes()
    by_name: dict[str, list[str]] = {}
    for key, (_, bases) in classes.items():
        by_name.setdefault(key.split(":")[1], []).extend(bases)

    def in_tree(name: str, seen: frozenset[str] = frozenset()) -> bool | None:
        """True: descends from CodexError; False: from a builtin exception; None: not one."""
        if name in ("CodexError", "Signal"):
            return True
        if name in seen or name not in by_name:
            cls = getattr(builtins, name, None)
            is_exc = isinstance(cls, type) and issubclass(cls, BaseException)
            return False if is_exc else None
        results = [in_tree(b, seen | {name}) for b in by_name[name]]
        if True in results:
            return True
        return False if False in results else None

    outside = {
        key
        for key, (_, bases) in classes.items()
        if in_tree(key.split(":")[1]) is False and not key.split(":")[1].startswith("_")
    }
    assert not outside, f"outside the error tree: {sorted(outside)}"


def test_signals_are_never_mapped_to_http() -> None:
    """A ``Signal`` is not an error: it is defined once in errors.py, never a
    ``CodexError``, and no handler turns one into a response (it is caught where it
    is raised and ends the request quietly)."""
    from jupyter_codex import errors

    assert not issubclass(errors.Signal, errors.CodexError)
    signals = {
        key.split(":")[1] for key, (_, bases) in _exception_classes().items() if "Signal" in bases
    }
    assert signals, "errors.Signal has no subclass: drop it or the rule"
    mapping = (PACKAGE / "handlers" / "base.py").read_text()
    assert not {name for name in signals if name in mapping}, "a signal is mapped to HTTP"


#: Longest module without a stated reason (CONTRIBUTING's "< ~400 lines").
MAX_MODULE_LINES = 400
#: How the reason's paragraph of the module docstring starts.
REASON = "Why this module is long:"


def _long_module_reasons() -> dict[str, str | None]:
    """``module -> its reason paragraph (None: none)`` for every module over the limit."""
    out: dict[str, str | None] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= MAX_MODULE_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        paragraphs = [" ".join(p.split()) for p in doc.split("\n\n")]
        out[str(path.relative_to(PACKAGE))] = next(
            (p for p in paragraphs if p.startswith(REASON)), None
        )
    return out


def test_long_modules_say_why() -> None:
    """A module over ~400 lines is split by responsibility, or its docstring has a
    paragraph starting "Why this module is long:" that gives the reason."""
    reasons = _long_module_reasons()
    assert reasons, "no module is long any more: keep the rule, drop this assertion"
    _check_reasons(reasons, "the module docstring")


def _check_reasons(reasons: dict[str, str | None], where: str) -> None:
    """Every long file has a reason paragraph in ``where``, and it says something."""
    missing = sorted(m for m, why in reasons.items() if why is None)
    assert not missing, (
        f"over {MAX_MODULE_LINES} lines without a '{REASON}' paragraph in {where}: "
        f"{missing}; split it by responsibility or say why it is one"
    )
    empty = sorted(m for m, why in reasons.items() if why and len(why.split()) < 10)
    assert not empty, f"the reason says nothing: {empty}"


#: The frontend's sources (TypeScript, TSX), its unit tests excepted.
FRONTEND = PACKAGE.parent / "labextension" / "src"


def _header_comment(text: str) -> str:
    """The first comment block of a TypeScript file (``/** ... */`` or ``//`` lines
    before any code), without its comment markers; paragraphs stay blank-line separated."""
    lines = text.lstrip().splitlines()
    out: list[str] = []
    if lines and lines[0].startswith("/*"):
        for line in lines:
            end = "*/" in line
            out.append(line.split("*/")[0].strip().lstrip("/*").strip())
            if end:
                break
    else:
        for line in lines:
            if not line.startswith("//"):
                break
            out.append(line.lstrip("/").strip())
    return "\n".join(out)


def _long_frontend_reasons() -> dict[str, str | None]:
    """``file -> its reason paragraph (None: none)`` for every source over the limit."""
    out: dict[str, str | None] = {}
    for path in sorted([*FRONTEND.rglob("*.ts"), *FRONTEND.rglob("*.tsx")]):
        rel = path.relative_to(FRONTEND)
        if "__tests__" in rel.parts:
            continue
        text = path.read_text()
        if text.count("\n") <= MAX_MODULE_LINES:
            continue
        paragraphs = [" ".join(p.split()) for p in _header_comment(text).split("\n\n")]
        out[str(rel)] = next((p for p in paragraphs if p.startswith(REASON)), None)
    return out


def test_long_frontend_modules_say_why() -> None:
    """The same rule for ``labextension/src``: a file over ~400 lines is split by
    responsibility, or its first comment block has a "Why this module is long:"
    paragraph."""
    assert (FRONTEND / "index.ts").is_file()
    assert _header_comment("/**\n * A.\n *\n * B.\n */\ncode") == "\nA.\n\nB.\n"
    assert _header_comment("// A.\n//\n// B.\ncode") == "A.\n\nB."
    _check_reasons(_long_frontend_reasons(), "the first comment block")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """``module -> modules of jupyter_codex it imports``: every import statement
    (module level, inside functions, under ``TYPE_CHECKING``), each resolved to the
    module it loads (``from . import x`` is the submodule ``x`` when there is one).

    The package root (``jupyter_codex/__init__.py``) is left out: it is the entry
    point that loads ``app`` and ``kernel`` lazily, and ``from . import __version__``
    reads its attribute, not a layer."""
    modules = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                candidates = [[alias.name] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                candidates = [[f"{base}.{alias.name}", base] for alias in node.names]
            else:
                continue
            for options in candidates:
                for option in options:
                    while option and option not in modules:
                        option = option.rpartition(".")[0]
                    if option:
                        targets.add(option)
                        break
        graph[name] = {t for t in targets if t not in (name, "jupyter_codex")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules() -> None:
    """Two modules that import each other (even inside a function or only for type
    checking) are one responsibility in two files: move the shared piece into a small
    module of its own, or pass it through a Protocol."""
    graph = _import_graph()
    assert graph["jupyter_codex.proxy.service"] >= {"jupyter_codex.proxy.exchange"}
    assert "jupyter_codex.workspace.notebook_cells" in graph["jupyter_codex.workspace.notebooks"]
    cycles = _cycles(graph)
    assert not cycles, "modules that import each other: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_cycle_check_sees_function_level_and_type_checking_imports() -> None:
    """The checker itself: a cycle closed only by a function-local import is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    real = _import_graph()
    # exchange.py imports Prepared only under TYPE_CHECKING
    assert "jupyter_codex.proxy.prepared" in real["jupyter_codex.proxy.exchange"]
    # cli.py imports the sign-in flows only inside a function
    assert "jupyter_codex.accounts.signin" in real["jupyter_codex.cli"]


#: The registration calls of the server's listener registries, hooks and handlers.
REGISTRATIONS = (
    "add_listener",
    "add_notification_listener",
    "add_lifecycle_listener",
    "add_switch_listener",
    "add_alert_listener",
    "add_start_hook",
    "set_server_request_handler",
)


def test_one_place_lists_who_listens_to_what() -> None:
    """Every listener, hook and server-request handler of the server is registered in
    ``wiring.py``: no manager subscribes itself (or another) in its constructor or
    ``start``. The kernel side and the client library are outside this rule."""
    seen = set()
    for path in _server_files():
        rel = str(path.relative_to(PACKAGE))
        for name, line in _calls(path):
            method = name.rpartition(".")[2]
            if method in REGISTRATIONS:
                seen.add(method)
                assert rel == "wiring.py", f"{rel}:{line} registers {method}; wire it in wiring.py"
    assert seen == set(REGISTRATIONS), "a registration call was renamed: update REGISTRATIONS"
