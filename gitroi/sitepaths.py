"""The site-packages folders ``site`` would put on ``sys.path``, found without running it.

The git hooks start ``python -S`` (gitroi/attribution/hookboot.py): ``site``
would read every ``.pth`` file at start-up, which costs each commit more than
the hook's own work.  A hook that needs to know where installed packages are
(the installed version's dist-info, a package it defers) asks here; a module
these folders do not hold is then found by running ``site`` after all
(:func:`gitroi.attribution.hookrun.boot`).
"""

from __future__ import annotations

import os
import sys


def site_folders() -> list[str]:
    """The virtual environment's site-packages (``pyvenv.cfg`` next to the interpreter or one
    folder up, as ``site`` looks), the installation's, and the user's; existing or not."""
    import site

    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    venvs = [d for d in (exe_dir, os.path.dirname(exe_dir))
             if os.path.isfile(os.path.join(d, "pyvenv.cfg"))]
    return [*site.getsitepackages([*venvs[:1], sys.prefix]), site.getusersitepackages()]

