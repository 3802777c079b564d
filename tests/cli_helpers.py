"""Run the real command line in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run(cwd, *args: str, stdin: str | None = None, env: dict | None = None, check: bool = True) -> Result:
    full_env = {**os.environ, "STATEVCS_AUTHOR": "tester", **(env or {})}
    full_env.pop("STATEVCS_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "statevcs", *args], cwd=cwd, input=stdin, capture_output=True,
                       text=True, env=full_env, timeout=60)
    r = Result(p.returncode, p.stdout, p.stderr)
    if check and r.code != 0:
        raise AssertionError(f"statevcs {' '.join(args)} exited {r.code}\nstdout: {r.out}\nstderr: {r.err}")
    return r


def fails(cwd, code: int, *args: str, **kw) -> Result:
    """Run a command that must fail with ``code`` and one clean ``error:`` line."""
    r = run(cwd, *args, check=False, **kw)
    assert r.code == code, f"expected exit {code}, got {r.code}: {r.out} {r.err}"
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.err
    assert "Traceback" not in r.err
    return r


def run_on_tty(cwd, *args: str, env: dict | None = None) -> Result:
    """Run the command with stdout and stderr on a pseudo-terminal; ``out`` holds both."""
    import pty

    full_env = {**os.environ, "STATEVCS_AUTHOR": "tester", **(env or {})}
    for key, value in list(full_env.items()):
        if value is None:  # env={"NAME": None} removes NAME
            del full_env[key]
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "statevcs", *args], cwd=cwd, stdout=slave, stderr=slave,
                         env=full_env)
    os.close(slave)
    chunks = []
    while True:  # read while it runs, so a full terminal buffer never blocks it
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = p.wait(timeout=60)
    return Result(code, b"".join(chunks).decode(), "")
