"""``notebook_read`` of a large notebook, as the server serves it for a closed notebook.

Builds a notebook of ``--cells`` code cells (default 500), each with outputs: a
stream, a ``text/plain`` result, every tenth a PNG and every twentieth an error
with a traceback (about 1.4 MB on disk). Then times, ``--repeat`` times, exactly
what the server does for a ``notebook_read`` call of the whole notebook: read the
file, parse and upgrade it with nbformat, render every cell for the model
(``NotebookTools.call`` through ``_load`` and ``notebook_cells.read``), through the
real session lookup on SQLite. The budget is 200 ms (issue 21).

Run: ``python benchmarks/notebook.py [--cells 500] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jupyter_codex.models import Session
from jupyter_codex.workspace import notebook_cells
from jupyter_codex.workspace.notebooks import NotebookTools

BUDGET_MS = 200.0
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20).decode()


def build(path: Path, cells: int) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for i in range(cells):
        cell = nbformat.v4.new_code_cell(
            source=f"# cell {i}\nimport math\nvalues = [math.sqrt(x) for x in range({i})]\nvalues[-3:]",
            execution_count=i + 1,
        )
        outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=f"computing {i}\n" * 5),
            nbformat.v4.new_output(
                "execute_result",
                data={"text/plain": repr([i * 1.5, i * 2.5, i * 3.5])},
                execution_count=i + 1,
            ),
        ]
        if i % 10 == 0:
            outputs.append(
                nbformat.v4.new_output(
                    "display_data", data={"image/png": PNG, "text/plain": "<Figure>"}
                )
            )
        if i % 20 == 0:
            outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename="ValueError",
                    evalue=f"bad value {i}",
                    traceback=[f"\x1b[0;31mValueError\x1b[0m: line {n}" for n in range(15)],
                )
            )
        cell.outputs = outputs
        nb.cells.append(cell)
    nbformat.write(nb, path)


class _Sessions:
    def __init__(self, session: Session) -> None:
        self.session = session

    async def get(self, session_id: str) -> Session:
        return self.session


async def measure(cells: int, repeat: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root / "big.ipynb", cells)
        size = (root / "big.ipynb").stat().st_size
        session = Session(
            id="bench",
            cwd="",
            title="bench",
            approval_policy="never",
            sandbox="read-only",
            created_at=0,
            updated_at=0,
            notebook="big.ipynb",
        )
        tools = NotebookTools(
            root_dir=str(root),
            sessions=_Sessions(session),
            events=None,
            approvals=None,  # type: ignore[arg-type]
        )
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = await tools.call("bench", "notebook_read", {"arguments": {}})
            times.append((time.perf_counter() - started) * 1000)
            assert answer is not None and answer["success"], answer
        text = answer["contentItems"][0]["text"]
        print(
            f"notebook of {cells} cells, {size / 1e6:.2f} MB; answer {len(text) / 1e3:.0f} k "
            f"characters + {len(answer['contentItems']) - 1} images "
            f"(cap {notebook_cells.MAX_IMAGES})"
        )
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    times = asyncio.run(measure(args.cells, args.repeat))
    p50 = statistics.median(times)
    worst = max(times)
    verdict = "PASS" if p50 <= BUDGET_MS else "FAIL"
    print(
        f"notebook_read: median {p50:.1f} ms, max {worst:.1f} ms over {len(times)} reads "
        f"(budget {BUDGET_MS:.0f} ms): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
