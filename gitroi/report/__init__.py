"""What did the tokens buy: figures, pull requests from history, and the report renderers.

Public entry points (the GitHub Action uses them too):

* :func:`gitroi.report.pipeline.prepare` — bring the ledger up to date
  (import, attribution, analysis, PRs), incrementally;
* :func:`gitroi.report.figures.compute` — headline + rows, the
  ``gitroi.report/1`` JSON;
* :func:`gitroi.report.render.render_markdown` (and the other renderers).
"""

from __future__ import annotations

from gitroi.report.figures import compute
from gitroi.report.pipeline import prepare
from gitroi.report.render import render, render_markdown

__all__ = ["compute", "prepare", "render", "render_markdown"]
