"""Make tests/data/schema3-repo: the repository of make_schema2_repo.py written by statevcs
with SQLite schema 3 (one ``packs`` row per write transaction, objects compressed by zstd
without a dictionary), for the tests that open old layouts with the current code.

Run it with the code of that version on the path (any commit before schema 4, e.g. c166103):

    git worktree add /tmp/schema3code c166103
    PYTHONPATH=/tmp/schema3code python tests/data/make_schema3_repo.py tests/data/schema3-repo
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_schema2_repo import main  # noqa: E402  (the same history, made by the code on the path)

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "schema3-repo"), "3")
