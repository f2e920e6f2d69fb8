"""Where the gateway's files are. No imports beyond pathlib, so the command line can use it
before deciding what else to load.

The defaults ship inside the package (`config/defaults/`), so an installed wheel runs as a
checkout does. What an operator provides (settings.toml, .secrets.toml, hypercorn.toml) and
what the gateway writes (the SQLite file in `data/`) are found relative to the working
directory, never inside the package: site-packages is nobody's configuration and may be
read-only.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_PATH = Path(__file__).resolve().parents[1]
ROOT_PATH = PACKAGE_PATH.parent
"""The directory holding the package: the repository when run from a checkout (its tests,
README and pyproject.toml live there); site-packages when installed, so nothing at run time
reads from it."""
DEFAULTS_PATH = PACKAGE_PATH / "config" / "defaults"
DEFAULT_SETTINGS_FILE = DEFAULTS_PATH / "settings.toml"
DEFAULT_HYPERCORN_FILE = DEFAULTS_PATH / "hypercorn.toml"
CONSOLE_PATH = PACKAGE_PATH / "console"
"""The web console's files (HTML, ES modules, CSS), served at `/ui/` as they are."""

# The operator's files and the gateway's data, relative to the working directory.
SETTINGS_FILE = Path("settings.toml")
SETTINGS_FILE_VARIABLE = "QUART_LLM_SETTINGS"
"""The environment variable naming another settings file (`--settings` sets it)."""
SECRETS_FILE_NAME = ".secrets.toml"
"""Read beside the settings file, wherever that is."""
HYPERCORN_FILE = Path("hypercorn.toml")
DATA_PATH = Path("data")
