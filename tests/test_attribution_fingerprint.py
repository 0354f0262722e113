"""The attribution fingerprint a saved replay state is checked against.

Its bytes are a contract with every state already on disk: a different digest
for the same attribution would force a full replay on the next analysis.  The
reference below is the definition, written plainly.
"""

from __future__ import annotations

import hashlib

from gitroi.survival.replay import Attribution


def _reference(a: Attribution, among: list[str] | None) -> str:
    h = hashlib.sha1()
    keys = set(a.kinds) | set(a.ranges) | set(a.sessions)
    if among is not None:
        keys &= set(among)
    for sha in sorted(keys):
        h.update(sha.encode())
        h.update(a.kinds.get(sha, "").encode())
        h.update(repr(sorted((p, sorted(r)) for p, r in a.ranges.get(sha, {}).items())).encode())
        h.update(repr(sorted(a.sessions.get(sha, ()))).encode())
    return h.hexdigest()


def test_fingerprint_is_the_documented_digest() -> None:
    shas = [f"{i:040x}" for i in range(40)]
    a = Attribution(
        kinds={s: ("line" if i % 3 else "commit") for i, s in enumerate(shas[:30])},
        agents={s: ["claude-code"] for s in shas[:30]},
        ranges={shas[1]: {"b.py": [(5, 9), (1, 2)], "a.py": [(3, 3)]}, shas[31]: {"é.py": [(1, 1)]}},
        sessions={shas[2]: frozenset({"s2", "s1"}), shas[35]: frozenset({"x"})},
    )
    for among in (None, shas[:20], shas[::2], []):
        want = _reference(a, among)
        assert a.fingerprint(among) == want
        assert a.fingerprint(among) == want  # the memoized second call too
    assert a.fingerprint(shas[:2]) != a.fingerprint(shas[:3])
    changed = Attribution(kinds=dict(a.kinds), agents=a.agents,
                          ranges={**a.ranges, shas[1]: {"b.py": [(5, 9)], "a.py": [(3, 3)]}},
                          sessions=a.sessions)
    assert changed.fingerprint() != a.fingerprint()
