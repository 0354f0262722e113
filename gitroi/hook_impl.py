"""Compatibility entry for hooks installed by gitroi 0.1.0, which run
``python -m gitroi.hook_impl NAME``; the hooks' work now lives in
:mod:`gitroi.attribution.hookrun` (``gitroi install`` writes hooks that call it).
"""

import sys

from gitroi.attribution.hookrun import main

if __name__ == "__main__":
    sys.exit(main())
