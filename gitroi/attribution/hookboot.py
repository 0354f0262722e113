"""The script the installed hooks run: ``python -S .../gitroi/attribution/hookboot.py HOOK ARGS``.

``-S`` skips the ``site`` set-up at start-up (reading every ``.pth`` file of
site-packages: ~16 ms a commit with an editable install's finder); this
script then puts the folder that holds the ``gitroi`` package on ``sys.path``
(after the standard library, where site-packages would be) in place of its
own folder, and :func:`gitroi.attribution.hookrun.boot` runs ``site`` the
first time an import needs it (docs/hooks.md).  Imported, it does nothing.
"""

import os
import sys

if __name__ == "__main__":
    _here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != _here]
    sys.path.append(os.path.dirname(os.path.dirname(_here)))
    from gitroi.attribution.hookrun import boot

    boot()
