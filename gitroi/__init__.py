"""gitroi: what did the tokens buy?

Links what a team spends on AI coding agents to what that spend produced:
which AI-written lines survived, which were churned or reverted, and what
each surviving line and each merged pull request cost.
"""

from __future__ import annotations

import os
import sys

__all__ = ["__version__"]


def _version() -> str:
    """The installed version, without ``importlib.metadata`` when the dist-info is on sys.path.

    ``importlib.metadata`` costs ~40 ms to import (it parses metadata with the
    email package), a third of the post-commit hook's whole budget, and notes
    carry the version.  The dist-info directory's name holds it too.  A hook
    runs ``python -S`` (gitroi/attribution/hookboot.py), where site-packages
    is not on sys.path: then the folders ``site`` would add are looked at,
    without running it.
    """
    found = _dist_info_version(sys.path)
    if found is None and sys.flags.no_site:
        from gitroi.sitepaths import site_folders

        found = _dist_info_version(site_folders())
        if found is None:
            import site

            site.main()  # importlib.metadata below looks on sys.path
    if found is not None:
        return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gitroi")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def _dist_info_version(folders: list[str]) -> str | None:
    for entry in folders:
        if not entry:
            continue  # the current directory: not where installed packages live
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for name in names:
            if name.startswith("gitroi-") and name.endswith(".dist-info"):
                return name[len("gitroi-"):-len(".dist-info")]
    return None


def __getattr__(name: str) -> str:
    if name == "__version__":
        v = _version()
        globals()["__version__"] = v
        return v
    raise AttributeError(f"module 'gitroi' has no attribute {name!r}")
