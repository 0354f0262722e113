"""gitroi: what did the tokens buy?

Links what a team spends on AI coding agents to what that spend produced:
which AI-written lines survived, which were churned or reverted, and what
each surviving line and each merged pull request cost.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gitroi")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
