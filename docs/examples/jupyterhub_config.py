"""A local JupyterHub with jupyter-codex for every user: try it on one machine.

    pip install jupyterhub jupyter-codex
    npm install -g configurable-http-proxy
    jupyterhub -f docs/examples/jupyterhub_config.py

Then open http://127.0.0.1:8000, sign in with any name (no password: this is the
DummyAuthenticator) and open the Codex panel. Each user gets a server of their own,
with their own accounts, sessions and proxy endpoints under /user/<name>/codex/.

NOT FOR PRODUCTION: the dummy authenticator lets anyone in and the simple spawner
runs every user's server as the hub's own Unix user. A real deployment keeps the
``Spawner.environment`` and ``Spawner.args`` lines below and swaps the authenticator
and spawner (see docs/deployment.md). The test-suite runs this file for real
(tests/hub/test_hub_multiuser.py), with ports and folders moved to a temporary place.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (defined by JupyterHub)

c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
# Each user's HOME: the codex data dir defaults to <HOME>/.local/share/jupyter/codex,
# i.e. on the user's own volume.
c.SimpleLocalProcessSpawner.home_dir_template = (
    os.environ.get("CODEX_HUB_HOMES", "/tmp/jupyterhub-homes") + "/{username}"
)
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# Org-wide settings of jupyter-codex reach every user's server through the environment
# (JUPYTER_CODEX_* variables) or command-line traits. Keep secrets out of Spawner.args:
# they are visible in `ps`.
c.Spawner.environment = {
    # Device-code sign-in is the default under a hub; this makes it explicit.
    "JUPYTER_CODEX_DEFAULT_SIGN_IN": "device_code",
}
c.Spawner.args = [
    # Admin defaults (each a traitlet; see docs/configuration.md):
    "--WorkspaceManager.default_approval_policy=on-request",
    "--WorkspaceManager.max_concurrent_turns=4",
]
# Keep a server whose Codex turn is running: the extension reports activity while any
# turn runs, so an idle culler (jupyterhub-idle-culler) only stops truly idle servers.
