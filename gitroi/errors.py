"""The one error type gitroi raises on purpose.

A ``GitroiError`` carries a message written for the user: it names the file,
line, commit or object at fault and, where one exists, a ``hint`` naming the
command or flag that fixes it.  The CLI prints it as ``Error: ...`` and exits
1; any other exception is a bug (exit 3).  Hooks turn either into one warning
line and exit 0, because a hook never blocks a commit.
"""

from __future__ import annotations


class GitroiError(Exception):
    """A failure the user can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message
