"""The organisation view end to end: three real repositories exported, then `gitroi org report`.

* ``one``: tests/test_report_e2e.py's history (PRs merged four ways, commit-level AI lines
  from Claude trailers, review churn), remote ``https://github.com/acme/one.git``;
* ``two``: a Claude Code transcript on disk (tokens, line-level AI lines, exploration), a
  merged PR, remote ``git@github.com:acme/two.git``;
* ``cca``: the claude-code-action corpus (a real project's history), ``--name`` given.

Each runs the real CLI (`gitroi report --format json`, `gitroi export --to`).  The org
report's headline must be the sum of the three reports', its ``--by repo`` rows each
report's headline, and ``--by repo --by KEY`` each report's ``--by KEY`` rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitroi.errors import GitroiError
from gitroi.org.dataset import normalise_remote
from tests.conftest import GitRepo, corpus

FIGURES = ("tokens", "input", "cache_write", "cache_read", "output", "reasoning", "cost_usd",
           "ai_lines", "surviving", "churned", "reverted", "deleted_later", "unanalysed",
           "carried", "surviving_share", "rework_rate", "tokens_per_surviving_line",
           "cost_per_surviving_line", "merged_prs", "cost_per_merged_pr", "tokens_per_merged_pr",
           "commits")
SUMMED = ("tokens", "input", "cache_write", "cache_read", "output", "reasoning", "ai_lines",
          "surviving", "churned", "reverted", "deleted_later", "unanalysed", "carried",
          "merged_prs", "commits", "exploration_tokens", "exploration_sessions",
          "prs_in_history", "review_churn", "ai_lines_line_level", "ai_lines_commit_level")
CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITROI_", "GIT_", "INPUT_", "RUNNER_", "AWS_"))
           and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_DIR", "OPENCODE_DATA_DIR",
                         "CI")}
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test Person\n\temail = person@example.com\n"
                         "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
               GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1",
               CLAUDE_CONFIG_DIR=str(home / "claude"))
    return env


def cli(*args: str, cwd: Path, env: dict[str, str], check: bool = True
        ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gitroi", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"gitroi {' '.join(args)}: {proc.returncode}\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc


def _init(path: Path, env: dict[str, str]) -> GitRepo:
    path.mkdir(parents=True)
    tmpl = path.parent / f"{path.name}-template"
    tmpl.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", f"--template={tmpl}", str(path)],
                   check=True, env=env)
    return GitRepo(path)


def _build_two(repo: GitRepo, home: Path) -> None:
    from tests.test_attribution_claude_log import Transcript

    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    repo.git("checkout", "-q", "-b", "feat")
    t = Transcript(home / "claude", repo.path)
    app = repo.path / "app.py"
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", app, "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    repo.commit({"app.py": app.read_text()}, "greet by name", date="2026-02-12T16:05:00Z")
    repo.git("checkout", "-q", "main")
    when = {"GIT_AUTHOR_DATE": "2026-02-12T16:30:00Z", "GIT_COMMITTER_DATE": "2026-02-12T16:30:00Z"}
    repo.git("merge", "-q", "--no-ff", "feat", "-m", "Merge pull request #9 from acme/feat",
             "-m", "Greet by name", env=when)
    t.write("2026-03-02T10:10:00.000Z", "msg_B", "toolu_B", repo.path / "util.py",
            "def shout(s):\n    return s.upper()\n", input=1, output=254, cache_write=829,
            cache_read=89823)
    repo.commit({"util.py": (repo.path / "util.py").read_text()}, "shout",
                date="2026-03-02T10:12:00Z")
    t.response("2026-03-02T10:20:00.000Z", "msg_C", [{"type": "text", "text": "Done."}],
               input=2, output=50, cache_write=0, cache_read=1000)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three repositories, each reported and exported (to a folder) through the CLI."""
    from tests.test_report_e2e import build

    base = tmp_path_factory.mktemp("org")
    home = base / "home"
    home.mkdir()
    env = _env(home)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        one = _init(base / "one", env)
        build(one)
        one.git("remote", "add", "origin", "https://github.com/acme/one.git")
        two = _init(base / "two", env)
        _build_two(two, home)
        two.git("remote", "add", "origin", "git@github.com:acme/two.git")
        cca = base / "cca"
        subprocess.run(["git", "clone", "-q", str(corpus("claude-code-action")), str(cca)],
                       check=True, env=env)
        repos = {"github.com/acme/one": (one.path, []), "github.com/acme/two": (two.path, []),
                 "github.com/anthropics/claude-code-action":
                     (cca, ["--name", "github.com/anthropics/claude-code-action"])}
        dest = base / "dest"
        reports: dict[str, dict[str, Any]] = {}
        for name, (path, extra) in repos.items():
            reports[name] = json.loads(cli("report", "--format", "json", cwd=path,
                                           env=env).stdout)
            out = json.loads(cli("export", "--to", str(dest), "--json", *extra, cwd=path,
                                 env=env).stdout)
            assert out["repo"] == name and out["schema_version"] == 2
        yield {"env": env, "dest": dest, "reports": reports,
               "paths": {n: p for n, (p, _) in repos.items()}, "base": base}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def org_json(org: dict[str, Any], *args: str, src: str | None = None) -> dict[str, Any]:
    out = cli("org", "report", "--from", src or str(org["dest"]), "--format", "json", *args,
              cwd=org["base"], env=org["env"])
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_headline_is_the_sum_of_the_repositories(org: dict[str, Any]) -> None:
    data = org_json(org)
    h = data["headline"]
    heads = [r["headline"] for r in org["reports"].values()]
    assert all(x["ai_lines"] > 0 for x in heads)
    assert heads[1]["tokens"] > 0 and heads[1]["exploration_tokens"] > 0
    for k in SUMMED:
        assert h[k] == sum(x[k] for x in heads), k
    cost = sum(x["cost_usd"] or 0 for x in heads)
    assert h["cost_usd"] == pytest.approx(cost, abs=1e-6)
    assert h["repositories"] == 3 and data["ignored"] == []
    assert [r["repo"] for r in data["repositories"]] == sorted(org["reports"])


def test_by_repo_rows_are_each_repositorys_headline(org: dict[str, Any]) -> None:
    rows = {r["repo"]: r for r in org_json(org, "--by", "repo")["rows"]}
    assert set(rows) == set(org["reports"])
    for name, rep in org["reports"].items():
        for k in FIGURES:
            assert rows[name][k] == rep["headline"][k], (name, k)
        assert rows[name]["exploration_tokens"] == rep["headline"]["exploration_tokens"]


@pytest.mark.parametrize("key", ["agent", "model", "provider", "week", "month", "path",
                                 "symbol"])
def test_every_view_per_repository_equals_its_report(org: dict[str, Any], key: str) -> None:
    data = org_json(org, "--by", "repo", "--by", key)
    keys = data["by"]
    for name, path in org["paths"].items():
        mine = json.loads(cli("report", "--format", "json", "--no-update", "--by", key,
                              cwd=path, env=org["env"]).stdout)
        assert mine["by"] == keys[1:]
        theirs = [{k: r[k] for k in (*keys[1:], *FIGURES)} for r in data["rows"]
                  if r["repo"] == name]
        ours = [{k: r[k] for k in (*keys[1:], *FIGURES)} for r in mine["rows"]]
        assert _sorted(theirs, keys[1:]) == _sorted(ours, keys[1:]), (name, key)


def _sorted(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(str(row[k]) for k in keys))


def test_the_summary_gives_what_the_fact_tables_give(org: dict[str, Any]) -> None:
    """Every view the per-repository summary answers, and the charts, equal the full computation."""
    from gitroi.org.report import compute

    src = str(org["dest"])
    teams = [("platform", ["github.com/acme/*"])]
    for by in ([], ["repo"], ["team"], ["week"], ["month"], ["agent"], ["model"], ["provider"],
               ["repo", "provider"], ["team", "month"]):
        quick = compute(src, by=by, teams=teams, charts=not by)
        full = compute(src, by=by, teams=teams, charts=not by, use_summary=False)
        assert quick["headline"]["ai_lines"] > 0 and (quick["rows"] or not by)
        assert json.dumps(quick, sort_keys=True) == json.dumps(full, sort_keys=True), by


def test_provider_comes_from_the_price_table(org: dict[str, Any]) -> None:
    rows = {r["provider"]: r for r in org_json(org, "--by", "provider")["rows"]}
    two = org["reports"]["github.com/acme/two"]["headline"]
    assert rows["anthropic"]["tokens"] == two["tokens"]
    assert rows["anthropic"]["exploration_tokens"] == two["exploration_tokens"]


def test_datasette_views_name_the_provider_as_the_report_does(org: dict[str, Any]) -> None:
    """The ledger's report_* views read model_providers, which the report writes from the price table."""
    from gitroi.ledger import open_ledger

    path = org["paths"]["github.com/acme/two"]
    mine = json.loads(cli("report", "--format", "json", "--no-update", "--by", "provider",
                          cwd=path, env=org["env"]).stdout)["rows"]
    db = open_ledger(path / ".git" / "gitroi" / "ledger.db")
    try:
        providers = dict(db.execute("SELECT model, provider FROM model_providers").fetchall())
        assert providers and set(providers.values()) == {"anthropic"}, providers
        slices = db.execute("SELECT DISTINCT provider FROM report_fact_tokens").fetchall()
        assert slices == [("anthropic",)]
        view = {r[0]: r[1:] for r in db.execute(
            "SELECT provider, tokens, ai_lines, surviving FROM report_by_provider").fetchall()}
    finally:
        db.conn.close()
    assert view == {r["provider"]: (r["tokens"], r["ai_lines"], r["surviving"]) for r in mine}
    assert view["anthropic"][0] > 0


def test_since_until_and_teams(org: dict[str, Any], tmp_path: Path) -> None:
    teams = tmp_path / "teams.toml"
    teams.write_text('[teams]\nplatform = ["github.com/acme/*"]\n'
                     'actions = ["github.com/anthropics/*"]\n')
    rows = {r["team"]: r for r in org_json(org, "--by", "team", "--teams", str(teams))["rows"]}
    reps = org["reports"]
    assert rows["platform"]["ai_lines"] == sum(reps[f"github.com/acme/{n}"]["headline"]["ai_lines"]
                                               for n in ("one", "two"))
    assert rows["actions"]["ai_lines"] == \
        reps["github.com/anthropics/claude-code-action"]["headline"]["ai_lines"]
    data = org_json(org, "--since", "2026-03-01", "--until", "2026-04-01")
    mine = json.loads(cli("report", "--format", "json", "--no-update", "--since", "2026-03-01",
                          "--until", "2026-04-01", cwd=org["paths"]["github.com/acme/two"],
                          env=org["env"]).stdout)["headline"]
    one = json.loads(cli("report", "--format", "json", "--no-update", "--since", "2026-03-01",
                         "--until", "2026-04-01", cwd=org["paths"]["github.com/acme/one"],
                         env=org["env"]).stdout)["headline"]
    assert data["headline"]["tokens"] == mine["tokens"] + one["tokens"] > 0


def test_author_only_behind_a_warning(org: dict[str, Any]) -> None:
    out = cli("org", "report", "--from", str(org["dest"]), "--by", "author", "--format", "json",
              cwd=org["base"], env=org["env"])
    assert "warning: --by author puts people in rows" in out.stderr
    data = json.loads(out.stdout)
    assert data["per_person"] and any("<person@example.com>" in r["author"] for r in data["rows"])
    plain = cli("org", "report", "--from", str(org["dest"]), cwd=org["base"], env=org["env"])
    assert "warning" not in plain.stderr and "person@example.com" not in plain.stdout


def test_export_again_replaces_atomically_and_leftovers_are_named(org: dict[str, Any]) -> None:
    dest: Path = org["dest"]
    part = dest / "repo=github.com%2Facme%2Fone"
    before = json.loads((part / "_current.json").read_text())
    cli("export", "--to", str(dest), "--no-update", cwd=org["paths"]["github.com/acme/one"],
        env=org["env"])
    after = json.loads((part / "_current.json").read_text())
    assert after["export"] != before["export"] and after["previous"] == before["export"]
    # An interrupted export: files written aside, pointer never swapped; and a repository
    # whose first export died before its pointer.
    (part / "export=20990101T000000Z-dead").mkdir()
    (part / "export=20990101T000000Z-dead" / "commit_facts.parquet").write_bytes(b"PAR1")
    (dest / "repo=github.com%2Facme%2Fhalf" / "export=x").mkdir(parents=True)
    try:
        data = org_json(org)
        assert data["headline"]["ai_lines"] == \
            sum(r["headline"]["ai_lines"] for r in org["reports"].values())
        assert sorted(data["ignored"]) == [
            "repo=github.com%2Facme%2Fhalf/export=x: an interrupted export (no _current.json "
            "names it)",
            "repo=github.com%2Facme%2Fone/export=20990101T000000Z-dead: an interrupted export "
            "(not the one _current.json names)"]
        assert any(n.startswith("Ignored repo=github.com%2Facme%2Fhalf") for n in data["notes"])
    finally:
        shutil.rmtree(part / "export=20990101T000000Z-dead")
        shutil.rmtree(dest / "repo=github.com%2Facme%2Fhalf")


def test_bad_sources_say_what_to_do(org: dict[str, Any], tmp_path: Path) -> None:
    empty = cli("org", "report", "--from", str(tmp_path), cwd=tmp_path, env=org["env"],
                check=False)
    assert empty.returncode == 1
    assert f"no repository has exported to {tmp_path} yet" in empty.stderr
    assert "Traceback" not in empty.stderr
    src = tmp_path / "copy"
    shutil.copytree(org["dest"], src)
    pointer = src / "repo=github.com%2Facme%2Ftwo" / "_current.json"
    p = json.loads(pointer.read_text())
    p.update(schema_version=7, gitroi_version="9.1.0")
    pointer.write_text(json.dumps(p))
    bad = cli("org", "report", "--from", str(src), cwd=tmp_path, env=org["env"], check=False)
    assert bad.returncode == 1
    assert "repo=github.com%2Facme%2Ftwo has export schema 7 (written by gitroi 9.1.0)" in bad.stderr
    assert "gitroi>=9.1.0" in bad.stderr


def test_repository_name_from_the_remote() -> None:
    for url in ("https://github.com/Acme/Repo.git", "https://user:tok@github.com/Acme/Repo",
                "git@github.com:Acme/Repo.git", "ssh://git@github.com:22/Acme/Repo.git",
                "ssh://git@GitHub.com/Acme/Repo/"):
        assert normalise_remote(url) == "github.com/Acme/Repo", url
    assert normalise_remote("/srv/git/acme/repo.git") == "acme/repo"
    assert normalise_remote("") is None


def test_formats_and_html(org: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "org.html"
    cli("org", "report", "--from", str(org["dest"]), "-o", str(page), cwd=tmp_path,
        env=org["env"])
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "vegaEmbed" in text
    assert "github.com/acme/two" in text and "https://" not in text.split("<script>")[0]
    assert 'src="http' not in text  # everything inline: no network at view time
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        # Once drawn, point at a mark of each chart: the tooltip must name what it shows.
        probe = page.with_name("probe.html")
        cut = text.rindex("</body>")
        probe.write_text(text[:cut] + _TOOLTIP_PROBE + text[cut:])
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120)
        assert 'data-charts-ready="1"' in proc.stdout, proc.stderr[-2000:]
        assert proc.stdout.count('data-rendered="1"') == 5
        assert proc.stdout.count("<svg") >= 5
        assert [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln] == []
        tips = dict(line.split(": ", 1) for line in
                    proc.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0].splitlines())
        assert "cost / surviving line" in tips["chart-repos"] and "github.com/acme/" in \
            tips["chart-repos"], tips
        assert "month" in tips["chart-time"] and "cost / surviving line" in tips["chart-time"]
        assert "repository" in tips["chart-repo-time"] and "month" in tips["chart-repo-time"]
        assert "provider" in tips["chart-providers"] and "cost" in tips["chart-providers"]
        assert "rework rate" in tips["chart-rework"], tips
    md = cli("org", "report", "--from", str(org["dest"]), "--format", "markdown", "--by", "repo",
             cwd=tmp_path, env=org["env"]).stdout
    assert "| github.com/acme/one |" in md and md.startswith("### gitroi org report · 3 repositories")
    csv_text = cli("org", "report", "--from", str(org["dest"]), "--format", "csv", "--by",
                   "provider", cwd=tmp_path, env=org["env"]).stdout
    assert csv_text.splitlines()[0].startswith("provider,tokens,")


#: Hovers one mark of each chart (pointer events, as a mouse would) once the page says all
#: charts are drawn, and writes the tooltip each shows into <pre id="probe">.
_TOOLTIP_PROBE = """<script>
function probe(){
  if(document.body.getAttribute('data-charts-ready')!=='1'){setTimeout(probe,50);return;}
  const out=[];
  for(const el of document.querySelectorAll('div.chart')){
    let marks=el.querySelectorAll('g.mark-symbol.role-mark path');
    if(!marks.length) marks=el.querySelectorAll('g.mark-rect.role-mark path');
    const m=marks[0];
    if(!m){out.push(el.id+': no mark');continue;}
    const r=m.getBoundingClientRect();
    const o={bubbles:true,clientX:r.x+r.width/2,clientY:r.y+r.height/2,pointerType:'mouse'};
    for(const t of ['pointerover','pointermove','mouseover','mousemove'])
      m.dispatchEvent(t.startsWith('pointer')?new PointerEvent(t,o):new MouseEvent(t,o));
    const tip=document.getElementById('vg-tooltip-element');
    out.push(el.id+': '+(tip?tip.innerText.replace(/\\s+/g,' '):'no tooltip'));
  }
  const pre=document.createElement('pre'); pre.id='probe'; pre.textContent=out.join('\\n');
  document.body.appendChild(pre);
}
probe();
</script>"""


def test_unknown_team_file_is_a_clear_error(org: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "teams.toml"
    bad.write_text("platform = 3\n")
    out = cli("org", "report", "--from", str(org["dest"]), "--by", "team", "--teams", str(bad),
              cwd=tmp_path, env=org["env"], check=False)
    assert out.returncode == 1 and "team 'platform' must map to a list" in out.stderr


def test_no_remote_asks_for_a_name(repo: GitRepo, tmp_path: Path) -> None:
    from gitroi.git import Repo
    from gitroi.org.export import repo_name

    repo.commit({"a.py": "x\n"}, "init")
    with pytest.raises(GitroiError, match="no remote URL"):
        repo_name(Repo.discover(repo.path))


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Identical reports but for where they were read from and by which engine."""
    strip = ("source", "engine", "repositories")
    assert {k: v for k, v in a.items() if k not in strip} == \
        {k: v for k, v in b.items() if k not in strip}
    assert [(r["repo"], r["team"]) for r in a["repositories"]] == \
        [(r["repo"], r["team"]) for r in b["repositories"]]


def test_spark_gives_the_same_json_as_duckdb(org: dict[str, Any]) -> None:
    """One Spark session (local[*]); the SQL paths that differ most: commit grain and union."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: .ci/run installs openjdk-17-jre-headless")
    from gitroi.org.report import compute

    src = str(org["dest"])
    teams = [("platform", ["github.com/acme/*"])]
    # Few computes (the JVM's start and each Spark job cost seconds): provider x path is the
    # union of token and line sides with both joins (the headline from the summary); the
    # headline and --by team, model from the fact tables and from the cached summary.
    for by, quick in ((["provider", "path"], True), (["team", "model"], False),
                      (["team", "model"], True)):
        duck = compute(src, by=by, engine="duckdb", use_summary=quick, teams=teams)
        spark = compute(src, by=by, engine="spark", use_summary=quick, teams=teams)
        assert duck["rows"] and json.dumps(spark, sort_keys=True) == json.dumps(
            {**duck, "engine": "spark"}, sort_keys=True), by


def test_the_same_exports_on_s3_report_the_same(org: dict[str, Any]) -> None:
    """A real S3 API on 127.0.0.1 (moto's server): export there, report from there."""
    pytest.importorskip("moto")
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        env = {**org["env"], "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing"
                     ).create_bucket(Bucket="gitroi")
        uri = "s3://gitroi/org/exports"
        empty = cli("org", "report", "--from", uri, cwd=org["base"], env=env, check=False)
        assert "no repository has exported to s3://gitroi/org/exports yet" in empty.stderr
        for name, path in org["paths"].items():
            cli("export", "--to", uri, "--no-update", "--name", name, cwd=path, env=env)
        for args in ([], ["--by", "repo"], ["--by", "agent"]):
            s3 = json.loads(cli("org", "report", "--from", uri, "--format", "json", *args,
                                cwd=org["base"], env=env).stdout)
            _same(s3, org_json(org, *args))
        # Credentials the store refuses: moto checks them once told to (after the setup above).
        import moto.settings

        saved = moto.settings.INITIAL_NO_AUTH_ACTION_COUNT
        moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        try:
            denied = cli("org", "report", "--from", uri, cwd=org["base"],
                         env={**env, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWN"}, check=False)
        finally:
            moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = saved
        assert denied.returncode == 1 and "Traceback" not in denied.stderr
        lines = denied.stderr.strip().splitlines()
        assert lines[0].startswith("Error: no access to s3://gitroi/org/exports: "), lines
        assert lines[1].startswith("hint: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                                   "AWS_PROFILE"), lines
        assert len(lines) == 2
    finally:
        server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _export_and_compare(org: dict[str, Any], uri: str, env: dict[str, str]) -> None:
    """Export the three repositories to ``uri``; its org report must be the folder's."""
    empty = cli("org", "report", "--from", uri, cwd=org["base"], env=env, check=False)
    assert f"no repository has exported to {uri} yet" in empty.stderr, empty.stderr
    for name, path in org["paths"].items():
        cli("export", "--to", uri, "--no-update", "--name", name, cwd=path, env=env)
    for args in ([], ["--by", "repo"]):
        got = json.loads(cli("org", "report", "--from", uri, "--format", "json", *args,
                             cwd=org["base"], env=env).stdout)
        _same(got, org_json(org, *args))


def _one_line_error(proc: subprocess.CompletedProcess[str], error: str, hint: str) -> None:
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"Error: {error}"), lines
    assert lines[1].startswith(f"hint: {hint}"), lines


def test_the_same_exports_on_gcs_report_the_same(org: dict[str, Any]) -> None:
    """Google Cloud Storage's JSON API on 127.0.0.1 (gcp-storage-emulator), through pyarrow's GCS."""
    pytest.importorskip("gcp_storage_emulator")
    from gcp_storage_emulator.server import create_server
    from gcp_storage_emulator.storage import Storage

    # pyarrow lists a "folder" with includeTrailingDelimiter=true: GCS then returns the folder
    # markers one level down ("<prefix>repo=.../", which pyarrow's create_dir writes) among the
    # items. The emulator ignores that parameter (it answers as if false); this adds it.
    split = Storage._apply_list_delimiter

    def with_markers(self: Any, candidates: Any, prefix: Any, delimiter: str, glob: Any) -> Any:
        objs, prefixes = split(self, candidates, prefix, delimiter, glob)
        n = len(prefix or "")
        objs += [o for name, o in candidates
                 if name.endswith(delimiter) and name[n:].count(delimiter) == 1]
        return objs, prefixes

    Storage._apply_list_delimiter = with_markers  # type: ignore[method-assign]
    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket="gitroi")
    server.start()
    try:
        env = {**org["env"], "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}"}
        _export_and_compare(org, "gs://gitroi/org/exports", env)
    finally:
        server.stop()
        Storage._apply_list_delimiter = split  # type: ignore[method-assign]
    # Without the emulator and with a credentials file that is not there: one line, the fix.
    denied = cli("org", "report", "--from", "gs://gitroi/org/exports", cwd=org["base"],
                 env={**org["env"], "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"},
                 check=False)
    _one_line_error(denied, "no access to gs://gitroi/org/exports: no credentials: Cannot open "
                    "credentials file /nonexistent/key.json", "set GOOGLE_APPLICATION_CREDENTIALS")


def _azurite() -> str | None:
    """Azurite's blob server: on PATH, or where .ci/run installs it (npm, .ci/node)."""
    local = Path(__file__).resolve().parent.parent / ".ci" / "node" / "node_modules" / ".bin"
    return shutil.which("azurite-blob") or shutil.which("azurite-blob", path=str(local))


AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")  # Azurite's published development key, not a secret


def test_the_same_exports_on_azure_report_the_same(org: dict[str, Any], tmp_path: Path) -> None:
    """Azure Blob Storage on 127.0.0.1 (Azurite, from npm), through pyarrow's Azure filesystem."""
    # No account at all: one line naming what to set (no server needed).
    none = cli("org", "report", "--from", "az://gitroi/org", cwd=org["base"], env=org["env"],
               check=False)
    _one_line_error(none, "no Azure storage account for az://gitroi/org",
                    "set AZURE_STORAGE_ACCOUNT_NAME")
    azurite = _azurite()
    if azurite is None:
        pytest.skip("no Azurite: .ci/run installs it with npm (npm install azurite)")
    import socket
    import time

    import pyarrow.fs as pafs

    port = _free_port()
    proc = subprocess.Popen([azurite, "--blobHost", "127.0.0.1", "--blobPort", str(port),
                             "--inMemoryPersistence", "--skipApiVersionCheck", "--silent"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "azurite.log").open("wb"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "azurite.log").read_text()
                assert time.monotonic() < deadline, "Azurite did not start"
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}/devstoreaccount1"
        conn = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};")
        pafs.AzureFileSystem(account_name="devstoreaccount1", account_key=AZURITE_KEY,
                             blob_storage_authority=f"127.0.0.1:{port}",
                             blob_storage_scheme="http").create_dir("gitroi")
        env = {**org["env"], "AZURE_STORAGE_CONNECTION_STRING": conn}
        _export_and_compare(org, "az://gitroi/org/exports", env)
        wrong = conn.replace(AZURITE_KEY, "d3Jvbmcga2V5" * 8)
        denied = cli("org", "report", "--from", "az://gitroi/org/exports", cwd=org["base"],
                     env={**org["env"], "AZURE_STORAGE_CONNECTION_STRING": wrong}, check=False)
        _one_line_error(denied, "no access to az://gitroi/org/exports: ",
                        "set AZURE_STORAGE_ACCOUNT_KEY")
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_many_repositories_chart_the_biggest_spenders() -> None:
    from gitroi.org.html import MAX_BARS, specs

    repos = [{"repo": f"r{i:03d}", "cost_usd": float(i), "cost_per_surviving_line": 0.01}
             for i in range(MAX_BARS + 25)]
    spec = specs({"charts": {"repos": repos}})["chart-repos"]
    shown = [r["repo"] for r in spec["data"]["values"]]
    assert len(shown) == MAX_BARS and shown[0] == f"r{MAX_BARS + 24:03d}" and "r000" not in shown
    assert f"the {MAX_BARS} that spend most" in spec["title"]["subtitle"]


def test_by_author_is_one_row_per_person_through_mailmap(repo: GitRepo, tmp_path: Path) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"a.py": "a\nb\n"}, "one" + CLAUDE, author="Old Name <old@example.com>")
    repo.commit({"b.py": "c\nd\ne\n"}, "two" + CLAUDE, author="Real Person <real@example.com>")
    repo.commit({".mailmap": "Real Person <real@example.com> Old Name <old@example.com>\n"},
                "mailmap")
    dest = tmp_path / "dest"
    run_gitroi("export", "--to", str(dest), "--name", "github.com/acme/people", cwd=repo.path)
    out = run_gitroi("org", "report", "--from", str(dest), "--by", "author", "--format", "json",
                     cwd=tmp_path)
    rows = json.loads(out.stdout)["rows"]
    assert [(r["author"], r["ai_lines"], r["commits"]) for r in rows] == \
        [("Real Person <real@example.com>", 5, 2)]


def test_export_doc_names_every_column_and_the_schema_version() -> None:
    """docs/export.md is the export's contract: each table and column is named there."""
    from gitroi.org.dataset import COLUMNS, SCHEMA_VERSION

    doc = (Path(__file__).resolve().parent.parent / "docs" / "export.md").read_text()
    assert f"## Schema version {SCHEMA_VERSION}" in doc
    assert f"`gitroi.export.schema = {SCHEMA_VERSION}`" in doc
    for table, cols in COLUMNS.items():
        section = doc.split(f"**{table}**", 1)
        assert len(section) == 2, table
        text = section[1].split("\n\n**", 1)[0]
        missing = [c for c, _ in cols if c != "repo" and f"`{c}`" not in text]
        assert missing == [], (table, missing)
