"""The optional C accelerator of the replay (docs/speedups.md); everything else is in pyproject.toml.

``optional=True``: where no C compiler (or no Python headers) is found, the build
of ``gitroi._speedups`` fails quietly and gitroi installs as pure Python, which
gives the same results, only slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("gitroi._speedups", ["gitroi/_speedups.c"], optional=True)])
