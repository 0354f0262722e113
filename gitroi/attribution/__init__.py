"""Attribution: which commits and lines an agent wrote, and what they cost.

Markers and other tools' records, the gitroi note (the source of truth),
its carrying over rewrites, and the git hooks' work at commit time
(docs/notes.md, docs/hooks.md).
"""
