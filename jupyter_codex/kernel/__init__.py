"""jupyter-codex inside a kernel: the ``%codex`` magics, the widgets and the
kernel's one connection to the server.

The client library itself lives in :mod:`jupyter_codex.client`; every public
name of it is re-exported here, so the documented
``from jupyter_codex.kernel import CodexClient, tool`` keeps working. Importing
this package loads neither IPython nor ipywidgets (``extension.py`` and
``widgets/`` are imported on use) and never the server.
"""

from __future__ import annotations

from ..client import *
from ..client import __all__ as __all__
