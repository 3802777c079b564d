"""The working state file: the JSON a person or script edits between commits.

Reads are strict JSON (NaN, Infinity and duplicate keys refused) with line/column in
errors; writes go to a temporary file that is fsynced and renamed over the old one, so a
crash never leaves half a file, and the file keeps its permissions.

Like git's index, the repository remembers which commit the file was loaded from (its
*base*, in ``.statevcs/WORKTREE.json``). Loading a commit writes the file first and the
record second, so an interruption anywhere leaves a record that is older than the file
or the branch, which ``status`` reports and ``commit`` refuses; it never looks current.
Read-modify-write of the file (``set``, ``unset``, ``resolve``, ``commit``) happens under
an exclusive lock on ``.statevcs/worktree.lock``, so concurrent edits are all kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from typing import Any, Iterator

from ...errors import InvalidPointerError, PathNotFoundError, WorkingStateError
from ...model.jsontext import dump_pretty, parse_json_text
from ...model.pointer import array_index, parse_pointer

RECORD_NAME = "WORKTREE.json"
LOCK_NAME = "worktree.lock"

#: ``WorkingFile.base()`` when no record exists (a repository made before records were kept).
UNRECORDED = object()


def write_file_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text``: temporary file, fsync, rename, fsync of the directory.

    An existing file keeps its permission bits; a new one gets the umask's."""
    directory = os.path.dirname(path) or "."
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    import tempfile  # (and shutil, bz2...) only when a file is written

    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def confined_path(workdir: str, name: Any) -> str:
    """The absolute path of working file ``name`` inside ``workdir``.

    The name comes from configuration a clone or a hostile repository may have written,
    so it must be a relative path that stays inside the work tree once symlinks are
    resolved; anything else is refused before a byte is written."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise WorkingStateError(f"working file setting {name!r} is not a file name")
    if os.path.isabs(name) or any(part == ".." for part in name.replace("\\", "/").split("/")):
        raise WorkingStateError(
            f"working file {name!r} must be a relative path inside the work tree (no leading '/', no '..')")
    root = os.path.realpath(workdir)
    path = os.path.realpath(os.path.join(root, name))
    if path == root or not path.startswith(root + os.sep):
        raise WorkingStateError(f"working file {name!r} resolves to {path}, outside the work tree {root}")
    if os.path.basename(os.path.dirname(path)) == ".statevcs" or f"{os.sep}.statevcs{os.sep}" in path[len(root):]:
        raise WorkingStateError(f"working file {name!r} must not be inside .statevcs")
    return os.path.join(os.path.abspath(workdir), name)


class WorkingFile:
    """The working state file of a repository with a working directory, and its base record."""

    def __init__(self, path: str, meta_dir: str | None = None) -> None:
        self.path = path
        self.meta_dir = meta_dir

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def read(self) -> Any:
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise WorkingStateError(f"working state file {self.path} does not exist") from None
        except UnicodeDecodeError:
            raise WorkingStateError(f"{self.path} is not UTF-8 text") from None
        return parse_json_text(text, os.path.basename(self.path))

    def write(self, value: Any) -> None:
        """Replace the file's content (atomically); the base record is unchanged."""
        write_file_atomically(self.path, dump_pretty(value))

    def load(self, value: Any, base: str | None) -> None:
        """Write the state of commit ``base`` (None: no commit) and record it as the base.

        The file is written before the record, so a crash in between leaves a record
        older than the file: seen as stale, never as current."""
        self.write(value)
        self.record_base(base)

    def base(self) -> Any:
        """The commit id the file was loaded from, None for no commit, or UNRECORDED."""
        if self.meta_dir is None:
            return UNRECORDED
        path = os.path.join(self.meta_dir, RECORD_NAME)
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
        except FileNotFoundError:
            return UNRECORDED
        except (ValueError, UnicodeDecodeError) as exc:
            raise WorkingStateError(f"{path} is damaged ({exc}); delete it and run 'statevcs status'") from None
        base = record.get("base") if isinstance(record, dict) else None
        if not isinstance(record, dict) or "base" not in record or not (base is None or isinstance(base, str)):
            raise WorkingStateError(f"{path} is damaged (no base commit); delete it and run 'statevcs status'")
        return base

    def record_base(self, base: str | None) -> None:
        """Remember that the file holds (or was loaded from) commit ``base``."""
        if self.meta_dir is None:
            return
        write_file_atomically(os.path.join(self.meta_dir, RECORD_NAME),
                              json.dumps({"version": 1, "base": base}) + "\n")

    @contextlib.contextmanager
    def locked(self) -> Iterator["WorkingFile"]:
        """Hold the working file's exclusive lock for a read-modify-write.

        Re-entrant within a thread, so a command can hold it from its cleanliness check
        to its final write while the helpers it calls take it too."""
        if self.meta_dir is None:
            yield self
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, as before
            yield self
            return
        path = os.path.realpath(os.path.join(self.meta_dir, LOCK_NAME))
        held = _held_locks()
        if held.get(path):
            held[path] += 1
            try:
                yield self
            finally:
                held[path] -= 1
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held[path] = 1
            yield self
        finally:
            held.pop(path, None)
            os.close(fd)  # closing releases the lock

    def root(self) -> tuple[str, dict[str, bytes]]:
        """The tree id of the working state and its node objects."""
        from ...model.tree import write_tree  # loaded where a state is written, not by git's merge driver

        return write_tree(self.read())


_local = threading.local()


def _held_locks() -> dict[str, int]:
    """Working-file locks this thread holds: path -> depth."""
    held = getattr(_local, "held", None)
    if held is None:
        held = _local.held = {}
    return held


def set_at(document: Any, pointer: str, value: Any) -> Any:
    """``document`` with ``value`` placed at ``pointer`` (RFC 6902 ``add`` semantics for new keys;
    an existing array index is replaced, ``-`` or the length appends). Returns the new document."""
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(document, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        if last == "-" or last == str(len(parent)):
            parent.append(value)
        else:
            parent[array_index(last, len(parent), pointer)] = value
    return document


def unset_at(document: Any, pointer: str) -> Any:
    """``document`` without the value at ``pointer``."""
    tokens = parse_pointer(pointer)
    if not tokens:
        raise InvalidPointerError("cannot unset the whole state; set it to a value instead")
    parent = _parent(document, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PathNotFoundError(f"{pointer}: no such key")
        del parent[last]
    else:
        del parent[array_index(last, len(parent), pointer)]
    return document


def _parent(document: Any, tokens: tuple[str, ...], pointer: str) -> Any:
    from ...model.pointer import resolve

    parent = resolve(document, tokens[:-1])
    if not isinstance(parent, (dict, list)):
        raise PathNotFoundError(f"{pointer}: the parent is a {type(parent).__name__}, not an object or array")
    return parent
