"""Layering rules from DESIGN.md, checked on the source, plus docs that must stay current."""

from __future__ import annotations

import ast
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
    """Every outbound httpx client comes from ``http.py`` (one TLS/CA/limits policy)."""
    for path in _server_files():
        if path == PACKAGE / "http.py":
            continue
        for name, line in _calls(path):
            assert name not in (
                "httpx.AsyncClient",
                "httpx.Client",
                "AsyncClient",
                "ssl.create_default_context",
                "ssl.SSLContext",
            ), f"{path.relative_to(PACKAGE)}:{line} builds {name}; use jupyter_codex.http"
