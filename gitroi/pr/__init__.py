"""The pull-request side, on top of the pipeline: GitHub, the one PR comment,
the fail-on gate and the mapping of notes across squash and rebase merges
(docs/action.md).
"""
