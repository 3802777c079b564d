"""Incremental writes: edit a branch's state in place, or commit an RFC 6902 JSON Patch,
rewriting only the nodes on the edited paths (never materializing the state).

``repo.edit()`` yields an :class:`EditTransaction`; its operations are applied to the
head's tree at once (so ``tx.get`` reads through them) and recorded. A clean exit
commits; an exception commits nothing. A lost compare-and-swap replays the recorded
operations onto the new head, like ``repo.update`` re-runs its function; if one no
longer applies there, PatchConflictError and nothing is committed.

Patch semantics are those of the python ``jsonpatch`` package (RFC 6902), except that
``test`` compares as JSON does: ``true`` is not ``1`` (numbers compare by value, so
``1`` equals ``1.0``).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ...errors import (
    InvalidPatchError,
    InvalidPointerError,
    InvalidStateError,
    NothingToCommitError,
    PatchConflictError,
    PatchTestFailedError,
    PathNotFoundError,
    RefConflictError,
    UpdateContentionError,
)
from ...limits import max_depth
from ...model import refnames
from ...model.canonical import loads, nesting
from ...model.objects import Commit, Ref
from ...model.pointer import format_pointer, parse_pointer
from ...model.tree import write_tree
from ...model.treeedit import TreeEditor
from .writers import DEFAULT_UPDATE_TIMEOUT, backoff

if TYPE_CHECKING:
    from ..repository.facade import Repository

OPS = ("add", "remove", "replace", "move", "copy", "test")


# ---------------------------------------------------------------- reading a patch

def parse_patch(patch: Any) -> list[dict[str, Any]]:
    """A JSON Patch as a list of operation dicts; accepts the list itself or its JSON text.

    InvalidPatchError if it is not one: not a list of objects, an unknown ``op``, a
    missing or non-string ``path``/``from``, a missing ``value``, a malformed pointer."""
    if isinstance(patch, (bytes, bytearray)):
        try:
            patch = bytes(patch).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPatchError("the patch is not UTF-8 text") from None
    if isinstance(patch, str):
        try:
            patch = loads(patch)
        except ValueError as exc:
            raise InvalidPatchError(f"the patch is not valid JSON: {exc}") from None
    if not isinstance(patch, list):
        raise InvalidPatchError(f"a JSON Patch is an array of operations, not {_kind(patch)}")
    ops = []
    for i, op in enumerate(patch):
        where = f"operation {i}"
        if not isinstance(op, Mapping):
            raise InvalidPatchError(f"{where} is {_kind(op)}, not an object")
        name = op.get("op")
        if name not in OPS:
            raise InvalidPatchError(f"{where} has op {name!r}; expected one of {', '.join(OPS)}")
        members = ("path", "from") if name in ("move", "copy") else ("path",)
        for member in members:
            if member not in op:
                raise InvalidPatchError(f"{where} ({name}) has no {member!r} member")
            if not isinstance(op[member], str):
                raise InvalidPatchError(f"{where} ({name}): {member!r} must be a string (a JSON Pointer)")
            try:
                parse_pointer(op[member])
            except InvalidPointerError as exc:
                raise InvalidPatchError(f"{where} ({name}): {exc}") from None
        if name in ("add", "replace", "test") and "value" not in op:
            raise InvalidPatchError(f"{where} ({name}) has no 'value' member")
        ops.append(dict(op))
    return ops


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- applying operations

def apply_operation(editor: TreeEditor, op: dict[str, Any], index: int | None = None) -> None:
    """Apply one parsed patch operation to ``editor``'s tree (atomic: on error, nothing changed).

    PatchConflictError (PatchTestFailedError for ``test``) if it does not apply."""
    name = op["op"]
    path = parse_pointer(op["path"])
    before = editor.root
    try:
        if name == "add":
            editor.add(path, editor.to_child(op["value"], path))
        elif name == "replace":
            editor.replace(path, editor.to_child(op["value"], path))
        elif name == "remove":
            editor.remove(path)
        elif name == "test":
            _test(editor, path, op["value"])
        else:
            source = parse_pointer(op["from"])
            child = editor.child(source)
            if name == "move":
                if source == path:
                    return
                if path[: len(source)] == source:
                    raise PatchConflictError(f"cannot move {op['from'] or '/'} into itself ({op['path']})")
                editor.remove(source)
            if len(path) > len(source) and not _is_scalar(child):
                _check_depth(editor.value(child), path)
            editor.add(path, editor.as_child(child))
    except PathNotFoundError as exc:
        editor.root = before
        prefix = f"operation {index} ({name} {op['path'] or '/'})" if index is not None else name
        raise PatchConflictError(f"{prefix} does not apply: {exc}", index) from None
    except PatchConflictError as exc:
        editor.root = before
        if index is not None and exc.index is None:
            raise type(exc)(f"operation {index}: {exc}", index) from None
        raise
    except Exception:
        editor.root = before
        raise


def _is_scalar(child: Any) -> bool:
    return type(child) is not Ref and not isinstance(child, (dict, list))


def _check_depth(value: Any, path: tuple[str, ...]) -> None:
    """InvalidStateError if ``value`` placed at ``path`` would nest past the depth limit."""
    limit = max_depth()
    if len(path) + nesting(value) > limit:
        raise InvalidStateError(f"nesting deeper than {limit} levels", format_pointer(path))


def _test(editor: TreeEditor, path: tuple[str, ...], expected: Any) -> None:
    try:
        found = editor.get(path)
    except PathNotFoundError as exc:
        raise PatchTestFailedError(f"test failed: {exc}") from None
    if not json_equal(found, expected):
        shown = json.dumps(found, ensure_ascii=False)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise PatchTestFailedError(f"test failed at {format_pointer(path) or '/'}: the value is {shown}")


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality for ``test``: numbers by value (``1 == 1.0``), but ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return False


def apply_patch(editor: TreeEditor, patch: Any) -> None:
    """Apply a whole patch atomically: all of it, or (on any error) none of it."""
    ops = parse_patch(patch)
    before = editor.root
    try:
        for i, op in enumerate(ops):
            apply_operation(editor, op, i)
    except BaseException:
        editor.root = before
        raise


# ---------------------------------------------------------------- the transaction

class EditTransaction:
    """Edits of one branch's state, committed as one commit when the ``with`` block ends cleanly.

    ``message``, ``author`` and ``metadata`` may be set on it before the end. After a
    clean exit ``commit`` is the new Commit, or None when the edits changed nothing.
    """

    def __init__(self, repo: "Repository", branch: str | None, message: str = "", author: str | None = None,
                 metadata: dict[str, Any] | None = None, timeout: float = DEFAULT_UPDATE_TIMEOUT,
                 allow_empty: bool = False) -> None:
        if timeout < 0:
            raise ValueError("timeout cannot be negative")
        self.repo = repo
        self.branch = branch
        self.message = message
        self.author = author
        self.metadata = dict(metadata or {})
        self.timeout = timeout
        self.allow_empty = allow_empty
        self.commit: Commit | None = None
        self._ops: list[dict[str, Any]] = []
        self._ref = repo._branch_target_ref(branch)
        self._open = False
        self._start(repo._ref_target(self._ref))

    def _start(self, head: str | None) -> None:
        """Start over from ``head`` (None: an unborn branch, whose state is ``{}``)."""
        self.base = head
        if head is None:
            root, objects = write_tree({})
            self._editor = TreeEditor(self.repo.objects, root, objects)
        else:
            self._editor = TreeEditor(self.repo.objects, self.repo.objects.commit(head).root)
        self.base_root = self._editor.root

    @property
    def root(self) -> str:
        """The id of the edited state's root node so far."""
        return self._editor.root

    # ---------------------------------------------------------------- operations
    def get(self, pointer: str = "") -> Any:
        """The value at ``pointer`` as edited so far (a fresh copy); PathNotFoundError if absent."""
        return self._editor.get(parse_pointer(pointer))

    def set(self, pointer: str, value: Any) -> None:
        """Set the value at ``pointer``: an object key is added or replaced, an array item
        replaced (its index = the length, or ``-``, appends). The parent must exist."""
        self._do({"op": "_set", "path": pointer, "value": value})

    def remove(self, pointer: str) -> None:
        """Remove the value at ``pointer`` (it must exist)."""
        self._do({"op": "remove", "path": pointer})

    def append(self, pointer: str, value: Any) -> None:
        """Append ``value`` to the array at ``pointer``."""
        self._do({"op": "_append", "path": pointer, "value": value})

    def apply(self, patch: Any) -> None:
        """Apply an RFC 6902 JSON Patch (a list of operations, or its JSON text) atomically."""
        ops = parse_patch(patch)
        before, count = self._editor.root, len(self._ops)
        try:
            for i, op in enumerate(ops):
                self._do(op, i)
        except BaseException:
            self._editor.root = before
            del self._ops[count:]
            raise

    def _do(self, op: dict[str, Any], index: int | None = None) -> None:
        _run(self._editor, op, index)
        # Recorded as it is now: a replay after a lost race must not see later changes the
        # caller makes to a value it passed in.
        self._ops.append(copy.deepcopy(op))

    # ---------------------------------------------------------------- committing
    def __enter__(self) -> "EditTransaction":
        self._open = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._open = False
        if kind is None:
            self.commit = self.finish()

    def finish(self) -> Commit | None:
        """Commit the edits (retrying lost races by replaying them onto the new head)."""
        if self._editor.root == self.base_root and not self.allow_empty:
            return None
        started = time.monotonic()
        deadline = started + self.timeout
        attempt = 0
        # The ref fixed when the edit began, even if HEAD has moved to another branch since.
        branch = self._ref[len(refnames.BRANCH_PREFIX):] if self._ref.startswith(refnames.BRANCH_PREFIX) else None
        while True:
            if self._editor.root == self.base_root and not self.allow_empty:
                return None  # after a replay: the new head already holds the edits
            try:
                return self.repo._commit_once(self._editor.root, self._editor.objects(), self.message, self.author,
                                              branch, self.base, self.metadata, True, (), "edit")
            except RefConflictError as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UpdateContentionError(
                        f"edit of {refnames.short_name(self._ref)} lost the race {attempt + 1} time(s) in "
                        f"{time.monotonic() - started:.1f}s (budget {self.timeout:g}s); try again later",
                        self._ref, exc.expected, exc.actual) from None
                time.sleep(min(backoff(attempt), left))
                attempt += 1
                self._replay()

    def _replay(self) -> None:
        """Re-apply the recorded operations onto the branch's new head."""
        self._start(self.repo._ref_target(self._ref))
        for i, op in enumerate(self._ops):
            try:
                _run(self._editor, op, None)
            except PatchConflictError as exc:
                raise type(exc)(
                    f"{refnames.short_name(self._ref)} moved to {str(self.base)[:10]} while editing, and "
                    f"edit {i} ({_describe(op)}) no longer applies there: {exc}; nothing was committed", i) from None


def _run(editor: TreeEditor, op: dict[str, Any], index: int | None) -> None:
    """Apply one patch operation or one of the transaction's own (``_set``, ``_append``)."""
    name = op["op"]
    if name not in ("_set", "_append"):
        apply_operation(editor, op, index)
        return
    path = parse_pointer(op["path"])
    before = editor.root
    try:
        if name == "_set":
            editor.set(path, editor.to_child(op["value"], path))
        else:
            editor.append(path, editor.to_child(op["value"], path + ("0",)))
    except PathNotFoundError as exc:
        editor.root = before
        raise PatchConflictError(f"{name[1:]} {op['path'] or '/'} does not apply: {exc}", index) from None


def _describe(op: dict[str, Any]) -> str:
    name = op["op"].lstrip("_")
    return f"{name} {op['path'] or '/'}" + (f" from {op['from'] or '/'}" if "from" in op else "")


def commit_patch(repo: "Repository", patch: Any, branch: str | None = None, message: str = "",
                 author: str | None = None, metadata: dict[str, Any] | None = None, allow_empty: bool = False,
                 timeout: float = DEFAULT_UPDATE_TIMEOUT) -> Commit:
    """Apply an RFC 6902 patch to ``branch``'s head (default: HEAD's) and commit the result.

    NothingToCommitError if it changes nothing (unless ``allow_empty``); InvalidPatchError
    or PatchConflictError if it is malformed or does not apply (the branch is unchanged)."""
    tx = EditTransaction(repo, branch, message, author, metadata, timeout, allow_empty)
    tx.apply(patch)
    commit = tx.finish()
    if commit is None:
        raise NothingToCommitError("nothing to commit: the patch leaves the state as it is "
                                   "(allow_empty=True to commit anyway)")
    return commit


__all__ = ["EditTransaction", "apply_operation", "apply_patch", "commit_patch", "json_equal", "parse_patch"]
