"""A loopback server that answers like GitHub's REST API, for github3.py and the Action.

Bodies are the real recorded responses of github3.py's own cassettes
(``tests/fixtures/samples/github/cassettes``), with URLs and names rewritten to
this server and the test's repository, so github3.py builds complete
objects.  It serves under ``/api/v3`` (GitHub Enterprise Server's layout, what
``GitHubEnterprise(url)`` produces) or under ``/`` (``GITHUB_API_URL`` of
github.com's form), checks the ``Authorization`` header, and can be told to
be read-only or to fail the next matching requests (rate limits, 5xx).

Comments have authors: the token writes as ``State.login`` (``github-actions[bot]``
by default) and ``GET /user`` answers 403 as it does for an Actions
``GITHUB_TOKEN``, unless ``State.user_login`` is set (a personal token).
``DELETE`` removes a comment (204; 404 once gone).  ``State.list_barrier`` makes
comment listings wait for each other, so two overlapping runs both list before
either posts.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import SAMPLES

CASSETTES = SAMPLES / "github" / "cassettes"


def cassette_body(name: str, index: int) -> str:
    """The decoded response body of interaction ``index`` of a betamax cassette."""
    d = json.loads((CASSETTES / f"{name}.json").read_text())
    b = d["http_interactions"][index]["response"]["body"]
    raw = base64.b64decode(b["base64_string"]) if b.get("base64_string") else b["string"].encode()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


_PR_TEMPLATE = cassette_body("PullRequest_create_comment", 0)        # sigmavirus24/github3.py#423
_COMMENT_TEMPLATE = json.loads(cassette_body("PullRequest_create_comment", 1))
_COMMITS_TEMPLATE = json.loads(cassette_body("PullRequest_commits", 1))
_REPO_TEMPLATE = cassette_body("Repository_pull_request", 0)            # sigmavirus24/github3.py


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int
    # A 5xx that GitHub sends *after* doing the work (a comment created, then 502).
    after_work: bool = False


@dataclass
class State:
    token: str
    prefix: str
    read_only: bool = False
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    next_id: int = 1_000_001
    failures: list[Failure] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    auth_seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: who the token writes as; ``user_login`` None: ``GET /user`` is refused (GITHUB_TOKEN)
    login: str = "github-actions[bot]"
    user_login: str | None = None
    #: when set, each comment listing waits for the others (overlapping runs list together)
    list_barrier: threading.Barrier | None = None

    def reset(self) -> None:
        """Back to a fresh server between tests: no comments, no failures, writable."""
        self.comments.clear()
        self.failures.clear()
        self.log.clear()
        self.read_only = False
        self.login, self.user_login, self.list_barrier = "github-actions[bot]", None, None


class FakeGitHub:
    """Start with :meth:`start`; ``api_url`` is what GITHUB_API_URL would hold."""

    def __init__(self, *, token: str = "ghs_fakeTokenForTests0123456789", prefix: str = "/api/v3") -> None:
        self.state = State(token=token, prefix=prefix)
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        state = self.state

        class Handler(_Handler):
            st = state

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def root(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return self.root + self.state.prefix

    # -- scripting --------------------------------------------------------------------
    def add_pr(self, repo: str, number: int, *, head_sha: str, base_sha: str,
               head_repo: str | None = None, base_ref: str = "main", head_ref: str = "feature") -> None:
        self.state.pulls[(repo, number)] = dict(head_sha=head_sha, base_sha=base_sha,
                                                head_repo=head_repo or repo, base_ref=base_ref,
                                                head_ref=head_ref)

    def link_commit(self, repo: str, sha: str, number: int) -> None:
        """``GET /repos/R/commits/SHA/pulls`` will list merged PR ``number`` (added with add_pr)."""
        self.state.commit_pulls.setdefault((repo, sha), []).append(number)

    def add_comment(self, repo: str, number: int, body: str, login: str = "octocat") -> int:
        with self.state.lock:
            return _new_comment(self.state, self.api_url, repo, number, body, login)

    def fail(self, method: str, path: str, status: int, *, headers: dict[str, str] | None = None,
             message: str = "", times: int = 1, after_work: bool = False) -> None:
        self.state.failures.append(Failure(method, re.compile(path), status, headers or {},
                                           {"message": message or f"fake {status}",
                                            "documentation_url": "https://docs.github.com/rest"},
                                           times, after_work))

    def rate_limit(self, method: str, path: str, *, times: int = 1) -> None:
        """GitHub's primary rate limit: 403, x-ratelimit-remaining 0, reset in the past."""
        self.fail(method, path, 403, times=times, message="API rate limit exceeded for installation ID 42.",
                  headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                           "x-ratelimit-used": "5000", "x-ratelimit-resource": "core",
                           "x-ratelimit-reset": str(int(time.time()) - 1)})

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state.comments.values()
                if c["_repo"] == repo and c["_number"] == number]

    def requests(self, method: str | None = None) -> list[tuple[str, str, int]]:
        return [r for r in self.state.log if method is None or r[0] == method]


def _new_comment(st: State, api: str, repo: str, number: int, body: str, login: str) -> int:
    cid = st.next_id
    st.next_id += 1
    c = json.loads(json.dumps(_COMMENT_TEMPLATE))
    c.update(id=cid, node_id=f"IC_fake{cid}", body=body,
             url=f"{api}/repos/{repo}/issues/comments/{cid}",
             html_url=f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
             issue_url=f"{api}/repos/{repo}/issues/{number}",
             created_at="2026-11-23T18:00:00Z", updated_at="2026-11-23T18:00:00Z")
    c["user"] = dict(c["user"], login=login)
    c["_repo"], c["_number"] = repo, number
    st.comments[cid] = c
    return cid


def _public(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    st: State
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------------
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{self.st.prefix}"  # type: ignore[attr-defined]

    def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        # Logged before the reply is written: once the client has it, a test may read the log.
        self.st.log.append((self.command, urlsplit(self.path).path, code))
        raw = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        self.send_header("X-GitHub-Request-Id", "FAKE:0001")
        for k, v in {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
                     "x-ratelimit-reset": str(int(time.time()) + 3600),
                     "x-ratelimit-resource": "core", **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null")

    def _handle(self, method: str) -> None:
        st = self.st
        url = urlsplit(self.path)
        body = self._body() if method in ("POST", "PATCH") else None
        auth = self.headers.get("Authorization") or ""
        st.auth_seen.add(auth)
        self._route(method, url.path, parse_qs(url.query), body, auth)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str) -> int:
        st = self.st
        if not path.startswith(st.prefix + "/") and st.prefix:
            self._send(404, {"message": "Not Found"})
            return 404
        rel = path[len(st.prefix):]
        if auth != f"token {st.token}":
            self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return 401
        if method == "GET" and st.list_barrier is not None and rel.endswith("/comments"):
            with contextlib.suppress(threading.BrokenBarrierError):  # outside the lock
                st.list_barrier.wait()
        with st.lock:
            for f in st.failures:
                if f.times > 0 and f.method == method and f.path.search(rel):
                    f.times -= 1
                    if f.after_work:
                        self._do(method, rel, query, body, send=False)
                    self._send(f.status, f.body, f.headers)
                    return f.status
            if method in ("POST", "PATCH", "DELETE") and st.read_only:
                self._send(403, {"message": "Resource not accessible by integration",
                                 "documentation_url": "https://docs.github.com/rest/issues/comments"})
                return 403
            return self._do(method, rel, query, body, send=True)

    def _do(self, method: str, rel: str, query: dict[str, list[str]], body: Any, *, send: bool) -> int:
        st = self.st
        if rel == "/user" and method == "GET":
            if st.user_login is None:
                return self._reply(send, 403, {"message": "Resource not accessible by integration",
                                               "documentation_url": "https://docs.github.com/rest"})
            user = dict(_COMMENT_TEMPLATE["user"], login=st.user_login)
            return self._reply(send, 200, user)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls/(\d+)(/commits)?", rel)
        if method == "GET" and m and (m.group(1), int(m.group(2))) in st.pulls:
            repo, number = m.group(1), int(m.group(2))
            pr = st.pulls[(repo, number)]
            if m.group(3):
                commits = [dict(_COMMITS_TEMPLATE[0], sha=pr["head_sha"])]
                return self._reply(send, 200, commits)
            return self._reply(send, 200, self._pr_json(repo, number, pr))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)", rel)
        if method == "GET" and m:
            text = _REPO_TEMPLATE.replace("https://api.github.com", self.api)
            return self._reply(send, 200, json.loads(text.replace("sigmavirus24/github3.py", m.group(1))))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})(/pulls)?", rel)
        if method == "GET" and m:
            repo, sha = m.group(1), m.group(2)
            if m.group(3):
                pulls = []
                for number in st.commit_pulls.get((repo, sha), []):
                    d = self._pr_json(repo, number, st.pulls[(repo, number)])
                    d.update(state="closed", merged_at="2026-01-03T00:00:00Z")
                    pulls.append(d)
                return self._reply(send, 200, pulls)
            c = json.loads(json.dumps(_COMMITS_TEMPLATE[0]).replace("https://api.github.com", self.api))
            c.update(sha=sha, url=f"{self.api}/repos/{repo}/commits/{sha}", files=[],
                     stats={"additions": 0, "deletions": 0, "total": 0})
            return self._reply(send, 200, c)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", rel)
        if m:
            repo, number = m.group(1), int(m.group(2))
            if method == "GET":
                items = [_public(c) for c in st.comments.values()
                         if c["_repo"] == repo and c["_number"] == number]
                per_page = int((query.get("per_page") or ["30"])[0])
                page = int((query.get("page") or ["1"])[0])
                chunk = items[(page - 1) * per_page: page * per_page]
                headers = {}
                if page * per_page < len(items):
                    nxt = f"{self.api}/repos/{repo}/issues/{number}/comments?per_page={per_page}&page={page + 1}"
                    headers["Link"] = f'<{nxt}>; rel="next"'
                return self._reply(send, 200, chunk, headers)
            if method == "POST":
                cid = _new_comment(st, self.api, repo, number, body["body"], st.login)
                return self._reply(send, 201, _public(st.comments[cid]))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", rel)
        if m and int(m.group(2)) in st.comments and method == "DELETE":
            del st.comments[int(m.group(2))]
            return self._reply(send, 204, None)
        if m and int(m.group(2)) in st.comments and method == "PATCH":
            c = st.comments[int(m.group(2))]
            c["body"] = body["body"]
            c["updated_at"] = "2026-11-23T18:30:00Z"
            return self._reply(send, 200, _public(c))
        return self._reply(send, 404, {"message": "Not Found",
                                       "documentation_url": "https://docs.github.com/rest"})

    def _reply(self, send: bool, code: int, payload: Any, headers: dict[str, str] | None = None) -> int:
        if send:
            self._send(code, payload, headers)
        return code

    def _pr_json(self, repo: str, number: int, pr: dict[str, Any]) -> dict[str, Any]:
        text = _PR_TEMPLATE.replace("https://api.github.com", self.api)
        text = text.replace("sigmavirus24/github3.py", repo).replace("/423", f"/{number}")
        d = json.loads(text)
        d["number"] = number
        d["head"]["sha"], d["base"]["sha"] = pr["head_sha"], pr["base_sha"]
        d["head"]["ref"], d["base"]["ref"] = pr["head_ref"], pr["base_ref"]
        d["head"]["repo"] = dict(d["base"]["repo"], full_name=pr["head_repo"])
        return d

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
