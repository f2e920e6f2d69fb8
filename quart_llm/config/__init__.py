"""Settings: the typed models, the layered loader and where the files are.

The names below load on first use: the command line reads `ROOT_PATH` before it decides
whether to load pydantic and dynaconf at all.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quart_llm.config.loader import ConfigurationError, load_settings
    from quart_llm.config.models import Settings
    from quart_llm.config.paths import ROOT_PATH

__all__ = ["ROOT_PATH", "ConfigurationError", "Settings", "load_settings"]
_HOMES = {
    "ROOT_PATH": "quart_llm.config.paths",
    "ConfigurationError": "quart_llm.config.loader",
    "Settings": "quart_llm.config.models",
    "load_settings": "quart_llm.config.loader",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
