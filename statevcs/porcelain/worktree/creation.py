"""Creating a directory repository so that it either exists whole or not at all.

``.statevcs`` is built under a temporary name in the work tree and renamed into place
as the very last step (a rename is atomic), so a kill or an error at any point leaves
no half-made repository: ``init`` can simply be run again. ``clone`` fills the
repository (objects, refs, working file) before that rename, so a killed clone never
looks like a whole repository with an empty state.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Iterator

from ...errors import NotARepositoryError, RepositoryExistsError
from ...model import refnames
from ...model.refnames import BRANCH_PREFIX, HEAD
from ...store.base import SYMBOLIC_PREFIX
from ...store.locate import open_store
from ...store.paths import CONFIG_NAME, DB_NAME, DIR_NAME
from .working_file import UNRECORDED, confined_path, write_file_atomically

if TYPE_CHECKING:
    from ..repository.facade import Repository

TEMP_PREFIX = ".statevcs-new-"


def check_complete(meta_dir: str) -> None:
    """NotARepositoryError naming the way out when ``.statevcs`` lacks what every repository has
    (left by an interrupted init or clone of an older version, or damaged by hand)."""
    missing = [name for name in (CONFIG_NAME, DB_NAME) if not os.path.exists(os.path.join(meta_dir, name))]
    if missing:
        raise NotARepositoryError(
            f"{meta_dir} is an incomplete repository (no {', '.join(missing)}: an interrupted init or clone?); "
            f"if it holds nothing you need, remove it ('rm -r {meta_dir}') and run init or clone again"
        )


@contextlib.contextmanager
def creating(cls: Any, path: str, working_file: str, initial_branch: str, author: str | None,
             initial_state: bool = True, key: str | bytes | None = None) -> Iterator["Repository"]:
    """Yield a new repository for ``path`` whose ``.statevcs`` is still under a temporary name;
    on a clean exit it is closed and renamed into place (open it again to use it), on any
    error everything made is removed.

    With ``initial_state`` a missing working file is created as ``{}`` (init); a clone
    writes its own before the rename. With ``key`` the repository is encrypted (docs/encryption.md)."""
    refnames.check_branch_name(initial_branch)
    workdir = os.path.abspath(path)
    meta = os.path.join(workdir, DIR_NAME)
    if os.path.exists(meta):
        raise RepositoryExistsError(f"a statevcs repository already exists in {workdir}")
    made_dirs: list[str] = []
    probe = workdir
    while not os.path.exists(probe):
        made_dirs.append(probe)
        probe = os.path.dirname(probe)
    os.makedirs(workdir, exist_ok=True)
    made_file: str | None = None
    temp = None
    repo = None
    try:
        state_path = confined_path(workdir, working_file)
        temp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=workdir)
        with open(os.path.join(temp, CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump({"format": 2, "working_file": working_file}, f, indent=2)  # docs/storage-format.md
            f.write("\n")
        store = open_store(temp, create=True, key=key)
        repo = cls(store, workdir, author, meta_dir=temp)
        store.update_ref(HEAD, SYMBOLIC_PREFIX + BRANCH_PREFIX + initial_branch, None, repo.author, "init")
        state_dir = os.path.dirname(state_path)
        while not os.path.exists(state_dir):
            made_dirs.insert(0, state_dir)
            state_dir = os.path.dirname(state_dir)
        os.makedirs(os.path.dirname(state_path), exist_ok=True)
        yield repo
        if not os.path.exists(state_path) and initial_state:
            write_file_atomically(state_path, "{}\n")
            made_file = state_path
        if repo.working_file.base() is UNRECORDED:
            repo.working_file.record_base(None)
        repo.store.close()
        os.rename(temp, meta)  # the repository exists from this instant, whole
        temp = None
    except BaseException:
        if repo is not None:
            with contextlib.suppress(Exception):
                repo.store.close()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if made_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(made_file)
        for d in sorted(made_dirs, key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(d)  # only if still empty
        raise


def create_at_url(cls: Any, url: str, initial_branch: str, author: str | None,
                  key: str | bytes | None) -> "Repository":
    """A new repository at a store URL (PostgreSQL), HEAD on ``initial_branch``; on any error
    the repository just registered is deleted again, so a second init finds nothing."""
    store = open_store(url, create=True, key=key)
    try:
        repo = cls(store, None, author)
        if store.read_ref(HEAD) is None:
            store.update_ref(HEAD, SYMBOLIC_PREFIX + BRANCH_PREFIX + initial_branch, None, repo.author, "init")
    except BaseException:
        destroy = getattr(store, "destroy", None)
        if destroy is not None:
            with contextlib.suppress(Exception):
                destroy()
        store.close()
        raise
    return repo  # type: ignore[no-any-return]
