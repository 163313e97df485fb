"""``%codex --image SPEC``: a picture for Codex from a file or from the notebook.

``SPEC`` is a path (relative to the kernel's folder), or the name of a variable that
holds a picture: a matplotlib ``Figure`` (a plot), anything with ``_repr_png_`` or
``_repr_jpeg_`` (``IPython.display.Image``, PIL images, …), or the image's bytes.
``--image plot`` sends the current matplotlib figure: the plot the cell just drew.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any


class ImageSpecError(ValueError):
    """A ``--image`` value that names no picture."""


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _current_figure() -> Any:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None or not pyplot.get_fignums():
        raise ImageSpecError("--image plot: there is no matplotlib figure to send.")
    return pyplot.gcf()


def image_bytes(spec: str, user_ns: dict[str, Any]) -> bytes:
    """The bytes of the picture ``spec`` names (see the module docstring)."""
    if spec == "plot" and "plot" not in user_ns:
        return _figure_png(_current_figure())
    if spec.isidentifier() and spec in user_ns:
        value = user_ns[spec]
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if hasattr(value, "savefig"):
            return _figure_png(value)
        for method in ("_repr_png_", "_repr_jpeg_"):
            render = getattr(value, method, None)
            if callable(render):
                data = render()
                if isinstance(data, tuple):  # (data, metadata)
                    data = data[0]
                if isinstance(data, str):
                    data = base64.b64decode(data)
                if data:
                    return bytes(data)
        raise ImageSpecError(f"--image {spec}: that variable holds no picture.")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ImageSpecError(f"--image {spec}: no such file, and no variable of that name.")
    return path.read_bytes()


__all__ = ["ImageSpecError", "image_bytes"]
