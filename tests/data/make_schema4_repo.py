"""Make tests/data/schema4-repo: the repository of make_schema2_repo.py written by statevcs
with SQLite schema 4 (packs compressed with the built-in zstd dictionary, each pack's moves
as JSON text), for the tests that open old layouts with the current code.

Run it with the code of that version on the path (any commit with schema 4, e.g. 6ab46bc):

    git worktree add /tmp/schema4code 6ab46bc
    PYTHONPATH=/tmp/schema4code python tests/data/make_schema4_repo.py tests/data/schema4-repo
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_schema2_repo import main  # noqa: E402  (the same history, made by the code on the path)

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "schema4-repo"), "4")
