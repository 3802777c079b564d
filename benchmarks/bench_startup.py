"""Start-up: wall time of whole commands beside `python -c pass`, measured in the same run.

    python benchmarks/bench_startup.py [--quick]

Prints the median wall time (runs interleaved, so load hits every command alike) of:
`python -c pass`, `python -c "import statevcs"`, `statevcs --version`, `statevcs status`
on a small repository, `statevcs git textconv FILE` and `statevcs merge-file` on small
files (what git runs once per file when the drivers are installed), and the modules each
loads. The commands run as `python -m statevcs` with this checkout first on the path,
compiled to bytecode first as `pip install` leaves a package (where
PYTHONDONTWRITEBYTECODE is set, as on the project's VMs, an uncompiled checkout would
compile every module it imports at every run). Nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def modules(code: str, cwd: str, env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", f"import sys; {code}; print(len(sys.modules))"], cwd=cwd,
                         env=env, capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 5 if args.quick else 21
    compileall.compile_dir(str(ROOT / "statevcs"), quiet=1)  # the package as installed
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "r")
        subprocess.run([py, "-m", "statevcs", "init", repo], env=env, check=True, capture_output=True)
        with open(os.path.join(repo, "state.json"), "w") as f:
            json.dump({"agent": {"status": "idle", "memory": ["a", "b"]}, "budget": 10}, f)
        subprocess.run([py, "-m", "statevcs", "commit", "-m", "first"], cwd=repo, env=env, check=True,
                       capture_output=True)
        for name, value in (("base", 1), ("ours", 2), ("theirs", 1)):
            with open(os.path.join(tmp, f"{name}.json"), "w") as f:
                json.dump({"a": value, "b": [1, 2, 3]}, f)
        with open(os.path.join(tmp, "theirs.json"), "w") as f:
            json.dump({"a": 1, "b": [1, 2, 3, 4]}, f)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "import statevcs": [py, "-c", "import statevcs"],
            "statevcs --version": [py, "-m", "statevcs", "--version"],
            "statevcs status": [py, "-m", "statevcs", "status"],
            "statevcs git textconv": [py, "-m", "statevcs", "git", "textconv", os.path.join(tmp, "ours.json")],
            "statevcs merge-file": [py, "-m", "statevcs", "merge-file", os.path.join(tmp, "ours.json"),
                                    os.path.join(tmp, "base.json"), os.path.join(tmp, "theirs.json")],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, argv in commands.items():
                try:
                    times[name].append(run(argv, repo, env))
                except subprocess.CalledProcessError:
                    times[name].append(float("nan"))
        loaded = {
            "python -c pass": modules("pass", repo, env),
            "import statevcs": modules("import statevcs", repo, env),
            "statevcs --version": modules("import statevcs.cli.entry, statevcs.version", repo, env),
        }
    floor = statistics.median(times["python -c pass"])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{rounds} interleaved runs, load average {os.getloadavg()[0]:.2f}")
    print(f"\n  {'command':26s} {'median':>8s} {'over python -c pass':>20s}  modules")
    for name, ts in times.items():
        m = statistics.median(ts)
        extra = f"{(m - floor) * 1e3:+.0f} ms" if name != "python -c pass" else ""
        print(f"  {name:26s} {m * 1e3:6.0f} ms {extra:>20s}  {loaded.get(name, '')}")


if __name__ == "__main__":
    main()
