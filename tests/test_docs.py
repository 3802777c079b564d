"""Every code block in README.md and docs/*.md runs, and prints what the docs show.

The docs are a contract: a reader pastes them. This test runs each documentation file as
one session and fails on a block that errors or whose shown output differs, naming the
file and the block's line. docs/architecture.md ("Tested documentation") has the short
version of these rules for writers.

Blocks, by the fence's language:

- ``console``: a shell session. A line starting ``$ `` is a command (a line ending in
  ``\\`` continues on the next); the lines up to the next ``$ `` are its **whole** output,
  stdout and stderr together as a terminal shows them, so a command shown without output
  must print nothing. A command that prints nothing must exit 0; one that prints is judged
  by its output (a failure shows its ``error:`` line).
- ``bash``, ``sh``, ``shell``: a script, run as-is by bash under ``set -eo pipefail``; it
  must exit 0. Its output is not compared.
- ``python``: run statement by statement. An expression statement whose last line ends in
  a comment ``# => TEXT`` must have ``repr`` equal to TEXT (other comments are comments).
  What the code prints is not compared.
- ``pycon``: a doctest session (``>>> ``, ``... ``, then the expected output).
- ``json``: must parse.
- no language, ``text``, ``sql``, ``diff``: illustrations, not run; but one holding a
  ``$ `` or ``>>> `` line fails (it is a transcript: fence it as console or pycon).
- any other language fails: teach this test about it, or skip the block.

Markers, HTML comments (invisible on a rendered page) just before a fence:

- ``<!-- docs-test: skip (REASON) -->``: the block is not run (install commands,
  fictitious hosts, commands that write to $HOME); the reason is required. A skipped
  python block must still parse.
- ``<!-- docs-test: setup``, lines of bash, then ``-->`` on a line of its own: a hidden
  script run (under ``set -eo pipefail``) right before the block, for a fragment that
  needs a situation set up (a merge in progress, say). Its output is not shown.

A marker that is not followed by a fence (blank lines aside) fails, as does an unknown one.

Session: each file runs in its own new temporary directory, in a fresh interpreter, its
blocks in order as one terminal session: a ``cd`` in a shell block (or ``os.chdir`` in
Python) carries over to later blocks; environment variables set by a command do not. All
python and pycon blocks of a file share one namespace, because each doc reads top to bottom
as one session. The environment is fixed: ``STATEVCS_AUTHOR=docs``, ``NO_COLOR=1``,
``TZ=UTC``, ``HOME`` inside the temporary directory, and this checkout's ``statevcs``
first on PATH.

Output comparison is exact after normalising both the shown and the actual text: every
word of 64 or 10 hex digits (commit and object ids) becomes ``<id>``, every ISO 8601 time
``<time>``, the session directory ``/tmp``, and trailing spaces and trailing blank lines
are dropped. There is no wildcard: show the real output.

Run by hand: ``python tests/test_docs.py [DOC...]`` (each in a new temporary directory).
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tokenize
import traceback
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUN = {"console", "bash", "sh", "shell", "python", "pycon", "json"}
ILLUSTRATION = {"", "text", "sql", "diff"}
SKIP_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->\s*$")
SETUP_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*setup\s*$")
ANY_MARKER = re.compile(r"^\s*<!--\s*docs-test\b")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)[^`]*$")
RESULT_COMMENT = "# =>"
AUTHOR = "docs"


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text, and the line of its opening fence (1-based)."""

    lang: str
    text: str
    line: int
    skip: str | None = None  # the skip marker's reason; None when the block runs
    setup: str | None = None  # a hidden setup script to run first


def extract_blocks(markdown: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown text, and problems with markers or fences ('LINE: what')."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: dict[str, tuple[int, str]] = {}  # "skip"/"setup" -> (line of the marker, text)
    i = 0
    while i < len(lines):
        line = lines[i]
        skip = SKIP_MARKER.match(line)
        if skip or SETUP_MARKER.match(line):
            if pending and not (skip and set(pending) == {"setup"}):
                problems.append(f"{min(n for n, _ in pending.values())}: "
                                "a docs-test marker must come right before a fence")
                pending = {}
            if skip:
                reason = skip.group(1).strip()
                if not (reason.startswith("(") and reason.endswith(")") and reason[1:-1].strip()):
                    problems.append(f"{i + 1}: a skip marker needs a reason: <!-- docs-test: skip (why) -->")
                pending["skip"] = (i + 1, reason.strip("() "))
            else:
                j = i + 1
                while j < len(lines) and lines[j].strip() != "-->":
                    j += 1
                pending["setup"] = (i + 1, "\n".join(lines[i + 1:j]) + "\n")
                i = j
            i += 1
            continue
        if ANY_MARKER.search(line):
            problems.append(f"{i + 1}: unknown docs-test marker {line.strip()!r}")
        fence = FENCE.match(line)
        if fence:
            indent, mark, lang = fence.groups()
            body: list[str] = []
            j = i + 1
            closing = re.compile(r"^\s*" + re.escape(mark[0]) + "{" + str(len(mark)) + r",}\s*$")
            while j < len(lines) and not closing.match(lines[j]):
                body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                problems.append(f"{i + 1}: the fence is never closed")
            blocks.append(Block(lang.lower(), "\n".join(body) + "\n" if body else "", i + 1,
                                skip=pending["skip"][1] if "skip" in pending else None,
                                setup=pending["setup"][1] if "setup" in pending else None))
            pending = {}
            i = j + 1
            continue
        if pending and line.strip():
            problems.append(f"{min(n for n, _ in pending.values())}: a docs-test marker must come right before a fence")
            pending = {}
        i += 1
    if pending:
        problems.append(f"{min(n for n, _ in pending.values())}: a docs-test marker must come right before a fence")
    return blocks, problems


# --- normalising output -------------------------------------------------------------------

_ID = re.compile(r"\b(?:[0-9a-f]{64}|[0-9a-f]{10})\b")
_TIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")


def normalise(text: str, session: str | None = None) -> str:
    """Text with ids, times and the session directory replaced by placeholders."""
    if session:
        for path in {session, os.path.realpath(session)}:
            text = text.replace(path, "/tmp")
    text = _TIME.sub("<time>", _ID.sub("<id>", text))
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


# --- running one file (in its own interpreter, see main) ------------------------------------

class Session:
    """Runs the blocks of one file in order, collecting failures as readable messages."""

    def __init__(self, name: str, root: str):
        self.name = name
        self.root = root
        self.cwd = root
        self.namespace: dict = {"__name__": "__main__"}
        self.failures: list[str] = []

    def fail(self, line: int, message: str) -> None:
        self.failures.append(f"{self.name}:{line}: {message}")

    def run(self, block: Block) -> None:
        if block.skip is not None:
            if block.lang == "python":  # not run, but it must still be Python
                try:
                    ast.parse(block.text)
                except SyntaxError as exc:
                    self.fail(block.line + (exc.lineno or 0), f"the skipped python block does not parse: {exc}")
            return
        if block.setup is not None:
            code, out = self._shell(block.setup, strict=True)
            if code != 0:
                self.fail(block.line, f"the setup before this block exited {code}; it printed:\n{_indent(out)}")
                return
        if block.lang in ILLUSTRATION:
            for k, line in enumerate(block.text.splitlines()):
                if line.startswith(("$ ", ">>> ")):
                    self.fail(block.line + 1 + k, "a transcript in a block that is not run: "
                              "fence it as console or pycon (or skip it with a reason)")
                    return
            return
        if block.lang not in RUN:
            self.fail(block.line, f"a ```{block.lang} block is neither run nor skipped: "
                      "teach tests/test_docs.py about it or add <!-- docs-test: skip (why) -->")
            return
        runner = {"console": self.run_console, "bash": self.run_bash, "sh": self.run_bash,
                  "shell": self.run_bash, "python": self.run_python, "pycon": self.run_pycon,
                  "json": self.run_json}[block.lang]
        runner(block)

    # shell ------------------------------------------------------------------------------

    def _shell(self, script: str, strict: bool) -> tuple[int, str]:
        """Run ``script`` in bash from the session's directory; carry its final cwd."""
        pwd_file = os.path.join(os.path.dirname(self.root), "pwd")
        prologue = (f"cd {shlex.quote(self.cwd)} || exit 97\n"
                    f"trap 'pwd > {shlex.quote(pwd_file)}' EXIT\n"
                    + ("set -eo pipefail\n" if strict else ""))
        try:
            p = subprocess.run(["bash", "-c", prologue + script], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            return 124, out + "\n(timed out after 60 s)"
        with contextlib.suppress(OSError):
            with open(pwd_file, encoding="utf-8") as f:
                self.cwd = f.read().strip() or self.cwd
            os.remove(pwd_file)
        return p.returncode, p.stdout

    def run_bash(self, block: Block) -> None:
        code, out = self._shell(block.text, strict=True)
        if code != 0:
            self.fail(block.line, f"the script exited {code}; it printed:\n{_indent(out)}")

    def run_console(self, block: Block) -> None:
        commands: list[tuple[int, str, list[str]]] = []  # (line, command, shown output)
        lines = block.text.splitlines()
        k = 0
        while k < len(lines):
            line = lines[k]
            if line.startswith("$ ") or line == "$":
                start = k
                command = line[2:]
                while command.endswith("\\") and k + 1 < len(lines):
                    k += 1
                    command += "\n" + lines[k]
                commands.append((block.line + 1 + start, command, []))
            elif commands:
                commands[-1][2].append(line)
            else:
                self.fail(block.line + 1 + k, "a console block starts with output, not a `$ ` command")
                return
            k += 1
        for line, command, shown in commands:
            code, out = self._shell(command, strict=False)
            want, got = normalise("\n".join(shown)), normalise(out, self.root)
            if want != got:
                self.fail(line, f"`{command}` printed (exit {code}):\n{_indent(got)}\n"
                          f"but the docs show:\n{_indent(want)}")
                return
            if not got and code != 0:
                self.fail(line, f"`{command}` exited {code} and printed nothing")
                return

    # python -----------------------------------------------------------------------------

    def run_json(self, block: Block) -> None:
        try:
            json.loads(block.text)
        except ValueError as exc:
            self.fail(block.line, f"the json block does not parse: {exc}")

    def run_python(self, block: Block) -> None:
        source = block.text
        filename = self.name
        try:
            tree = ast.parse(source, filename)
            comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                        if tok.type == tokenize.COMMENT}
        except SyntaxError as exc:
            self.fail(block.line + (exc.lineno or 0), f"the python block does not parse: {exc}")
            return
        for stmt in tree.body:
            comment = comments.get(stmt.end_lineno or stmt.lineno, "")
            line = block.line + stmt.lineno
            expected = comment[len(RESULT_COMMENT):].strip() if comment.startswith(RESULT_COMMENT) else None
            if expected is not None and not isinstance(stmt, ast.Expr):
                self.fail(line, f"`{RESULT_COMMENT}` must follow an expression, not a {type(stmt).__name__}")
                return
            ast.increment_lineno(stmt, block.line)  # tracebacks name the line in the doc
            printed = io.StringIO()
            os.chdir(self.cwd)
            try:
                with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                    if expected is not None:
                        value = eval(compile(ast.Expression(stmt.value), filename, "eval"), self.namespace)
                    else:
                        exec(compile(ast.Module([stmt], []), filename, "exec"), self.namespace)
            except BaseException:  # a doc block that raises is a failure, whatever it raises
                trace = traceback.format_exc(limit=-3)
                self.fail(line, f"raised:\n{_indent(trace)}" + (f"\nafter printing:\n{_indent(printed.getvalue())}"
                                                                 if printed.getvalue() else ""))
                return
            finally:
                self.cwd = os.getcwd()
            if expected is not None:
                want, got = normalise(expected), normalise(repr(value), self.root)
                if want != got:
                    self.fail(line, f"`{ast.get_source_segment(source, _unshift(stmt, block.line))}` "
                              f"is\n{_indent(got)}\nbut the docs show\n{_indent(want)}")
                    return

    def run_pycon(self, block: Block) -> None:
        session = self

        class Checker(doctest.OutputChecker):
            def check_output(self, want: str, got: str, optionflags: int) -> bool:
                return normalise(want) == normalise(got, session.root)

        examples = doctest.DocTestParser().get_examples(block.text)
        test = doctest.DocTest(examples, self.namespace, self.name, self.name, block.line, block.text)
        report: list[str] = []
        runner = doctest.DocTestRunner(checker=Checker(), optionflags=doctest.REPORT_ONLY_FIRST_FAILURE)
        os.chdir(self.cwd)
        try:
            runner.run(test, out=report.append, clear_globs=False)
        finally:
            self.cwd = os.getcwd()
        if runner.failures:
            self.fail(block.line, "the pycon session differs:\n" + _indent("".join(report)))


def _unshift(stmt: ast.stmt, by: int) -> ast.stmt:
    """A copy of ``stmt``'s position moved back by ``by`` lines, to find its source."""
    clone = ast.Expr(value=ast.Constant(None))
    clone.lineno, clone.end_lineno = stmt.lineno - by, (stmt.end_lineno or stmt.lineno) - by
    clone.col_offset, clone.end_col_offset = stmt.col_offset, stmt.end_col_offset
    return clone


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in (text.rstrip("\n") or "(nothing)").splitlines())


def run_file(path: pathlib.Path, name: str, root: str) -> list[str]:
    """Run every block of one Markdown file from ``root``; the failures, as messages."""
    blocks, problems = extract_blocks(path.read_text(encoding="utf-8"))
    session = Session(name, root)
    session.failures.extend(f"{name}:{p}" for p in problems)
    for block in blocks:
        session.run(block)
    return session.failures


def session_env(bin_dir: pathlib.Path, home: pathlib.Path) -> dict[str, str]:
    """The fixed environment a doc session runs in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATEVCS_", "PAGER", "LESS"))}
    env.update(STATEVCS_AUTHOR=AUTHOR, NO_COLOR="1", TZ="UTC", HOME=str(home), COLUMNS="100",
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1")
    return env


def run_doc(doc: pathlib.Path, tmp: pathlib.Path) -> list[str]:
    """Run ``doc`` in a fresh interpreter in a new session directory under ``tmp``."""
    doc = doc.resolve()
    bin_dir, home, root = tmp / "bin", tmp / "home", tmp / "session"
    for d in (bin_dir, home, root):
        d.mkdir()
    shim = bin_dir / "statevcs"  # this checkout's statevcs, whatever else is on PATH
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m statevcs \"$@\"\n")
    shim.chmod(0o755)
    report = tmp / "report.json"
    try:
        name = str(doc.resolve().relative_to(ROOT))
    except ValueError:
        name = doc.name
    try:
        p = subprocess.run([sys.executable, __file__, str(doc), "--name", name, "--report", str(report)],
                           cwd=root, env=session_env(bin_dir, home), capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return [f"{name}: its blocks did not finish within 300 s (a python block waiting forever?)"]
    if not report.exists():
        return [f"{name}: the doc runner crashed (exit {p.returncode}):\n{p.stdout}{p.stderr}"]
    return json.loads(report.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    """``test_docs.py DOC...``: run each doc in a new temporary directory and print what failed.

    ``test_docs.py DOC --name NAME --report FILE`` is the session itself (run by run_doc):
    it runs DOC from the current directory and writes the failures to FILE as JSON.
    """
    if "--report" in argv:
        failures = run_file(pathlib.Path(argv[0]), argv[argv.index("--name") + 1], os.getcwd())
        with open(argv[argv.index("--report") + 1], "w", encoding="utf-8") as f:
            json.dump(failures, f)
        return 0
    import tempfile

    failed = 0
    for doc in argv or [str(p) for p in DOC_FILES]:
        with tempfile.TemporaryDirectory() as tmp:
            failures = run_doc(pathlib.Path(doc), pathlib.Path(tmp))
        print("\n\n".join(failures) or f"{doc}: every block ran and matched")
        failed += bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- the tests ----------------------------------------------------------------------------

import pytest  # noqa: E402  (the runner above needs only the standard library)


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_runs_and_shows_its_output(doc, tmp_path):
    failures = run_doc(doc, tmp_path)
    assert not failures, "\n\n".join(failures)


BAD_DOC = """\
# a doc that drifted

```console
$ echo hello
goodbye
$ false
```

```python
x = 1 + 1
x  # => 3
```

```python
raise RuntimeError("boom")
```

```pycon
>>> sorted({"b": 1, "a": 2})
['b', 'a']
```

```bash
true
false
echo unreachable
```

```
$ statevcs status
```

```ruby
puts 1
```

<!-- docs-test: skip -->
```bash
rm -rf /
```

<!-- docs-test: skip (stale) -->
Some text.

```json
{"a": 1,}
```

<!-- docs-test: setup
false
-->
```console
$ echo never
never
```
"""

GOOD_DOC = """\
<!-- docs-test: skip (fictitious host) -->
```bash
statevcs init postgresql://nobody@db.invalid/x
```

<!-- docs-test: setup
mkdir elsewhere && cd elsewhere
-->

```console
$ basename "$PWD"
elsewhere
$ cd .. && echo one \\
two
one two
```

```console
$ statevcs init demo && cd demo
Initialized empty statevcs repository in /tmp/demo/.statevcs
$ echo '{"a": 1}' > state.json && statevcs commit -m one
[main 0123456789] one
$ statevcs log --oneline
abcdefabcd one
```

```python
import os
from statevcs import Repository
os.path.basename(os.getcwd())  # => 'demo'
repo = Repository.open(".")
repo.get()  # => {'a': 1}
```

```pycon
>>> repo.head().id == repo.rev_parse("main")
True
>>> repo.rev_parse("main")
'0000000000000000000000000000000000000000000000000000000000000000'
```
"""


def _run_text(tmp_path, text: str) -> list[str]:
    doc = tmp_path / "sample.md"
    doc.write_text(text, encoding="utf-8")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return run_doc(doc, run_dir)


def test_the_checker_fails_on_each_kind_of_drift(tmp_path):
    failures = _run_text(tmp_path, BAD_DOC)
    text = "\n".join(failures)
    assert "sample.md:4: `echo hello` printed" in text and "goodbye" in text  # wrong output
    assert "sample.md:11: `x` is" in text                                    # wrong `# =>` value
    assert "sample.md:15: raised:" in text and "boom" in text                # an error
    assert "sample.md:18: the pycon session differs" in text                 # wrong doctest output
    assert "sample.md:23: the script exited 1" in text                       # failing script
    assert "sample.md:30: a transcript in a block that is not run" in text
    assert "sample.md:33: a ```ruby block is neither run nor skipped" in text
    assert "sample.md:37: a skip marker needs a reason" in text
    assert "sample.md:42: a docs-test marker must come right before a fence" in text
    assert "sample.md:45: the json block does not parse" in text
    assert "sample.md:52: the setup before this block exited 1" in text
    assert len(failures) == 11, text


def test_the_checker_passes_a_faithful_doc_with_ids_times_and_paths_normalised(tmp_path):
    assert _run_text(tmp_path, GOOD_DOC) == []


def test_normalise_replaces_ids_times_and_the_session_directory():
    session = "/tmp/pytest-7/session"
    got = normalise(f"[main 3eb75484bf] x  \nat 2026-11-23T10:00:01.5Z in {session}/demo\n{'a' * 64}\n\n", session)
    assert got == "[main <id>] x\nat <time> in /tmp/demo\n<id>"
    assert normalise("3eb75484bf0") == "3eb75484bf0"  # 11 digits is not an id


def _demo_transcript(out: str) -> str:
    """The demo's output from its first command up to its closing words."""
    start = out.index("$ ")
    end = out.index("\ndemo finished")
    return out[start:end]


def test_the_demo_prints_commands_that_can_be_pasted(tmp_path):
    """examples/demo.sh prints a console transcript; replaying it gives the same output."""
    scratch = tmp_path / "scratch"  # the demo's mktemp -d goes here: its name is then known
    scratch.mkdir()
    env = {**session_env(pathlib.Path(sys.executable).parent, tmp_path), "TMPDIR": str(scratch)}
    p = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    transcript = re.sub(re.escape(str(scratch)) + r"/[\w.]+", "/tmp", _demo_transcript(p.stdout))
    assert "$ statevcs set /agent/status '\"running\"'" in transcript
    failures = _run_text(tmp_path, "```console\n" + transcript + "\n```\n")
    assert failures == []
