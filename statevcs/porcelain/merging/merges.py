"""Merging commits: merge bases (with virtual bases for criss-cross histories),
merge, revert and cherry-pick, written over the pure merge engine.

Kept apart from the facade (repository/facade.py) so each module holds one idea; Repository exposes these as methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ...algo.history import is_ancestor, merge_bases
from ...algo.merge import Conflict, check_strategy
from ...algo.policies import PolicyRule, parse_attributes, parse_policies
from ...algo.treemerge import apply_resolutions, merge_trees
from ...errors import InvalidAttributesError, MergeConflictError, NotFastForwardError
from ...model import refnames
from ...model.objects import Commit, Ref
from ...model.refnames import HEAD
from ...model.tree import ARRAY, OBJECT, LayeredSource, view, write_tree
from ..rules.checks import check_branch_move

if TYPE_CHECKING:
    from ..repository.facade import Repository

FF_MODES = ("auto", "only", "never")


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge did: ``kind`` is "merge", "fast-forward" or "up-to-date"."""

    commit: Commit
    kind: str
    bases: tuple[str, ...] = ()
    strategy: str = "merge"
    settled: tuple[Conflict, ...] = ()


@dataclass
class PreparedMerge:
    """A computed but not yet committed merge (the CLI keeps it while conflicts are resolved)."""

    target_ref: str
    target: Commit | None
    source: Commit
    kind: str  # "merge" | "fast-forward" | "up-to-date"
    bases: tuple[str, ...] = ()
    root: str = ""
    objects: dict[str, bytes] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    settled: list[Conflict] = field(default_factory=list)
    strategy: str = "merge"
    paths: list[str] | None = None
    operation: str = "merge"  # "merge" | "revert" | "cherry-pick"


#: The commit metadata key under which a commit may carry the merge policies it wants.
POLICIES_KEY = "policies"


def commit_policies(commits: tuple[Commit, ...]) -> dict[str, str]:
    """The policies recorded in the metadata of the commits being merged (``policies``:
    ``{pattern: policy}``, as written by an integration such as the LangGraph saver), the
    later commit winning; InvalidAttributesError if one is not a valid policy."""
    out: dict[str, str] = {}
    for commit in commits:
        recorded = commit.metadata.get(POLICIES_KEY)
        if recorded is None:
            continue
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
            raise InvalidAttributesError(f"commit {commit.short_id}: metadata 'policies' is not "
                                         "an object of pattern -> policy texts")
        for pattern, policy in recorded.items():
            try:
                PolicyRule.make(pattern, policy)
            except ValueError as exc:
                raise InvalidAttributesError(f"commit {commit.short_id}: {exc}") from None
        out.update(recorded)
    return out


def repository_policies(repo: "Repository", extra: Mapping[str, str] | None,
                        commits: tuple[Commit, ...] = ()) -> dict[str, str]:
    """Policies the merged ``commits`` carry (the lowest), then ``.statevcs/attributes``, then
    ``repo.policies``, then ``extra`` (last wins)."""
    out: dict[str, str] = commit_policies(commits)
    if repo.meta_dir:
        import os

        path = os.path.join(repo.meta_dir, "attributes")
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    out.update(parse_attributes(f.read()))
            except UnicodeDecodeError:
                raise InvalidAttributesError(f"{path} is not UTF-8 text") from None
            except ValueError as exc:
                raise InvalidAttributesError(f"{path}: {exc}") from None
    out.update(repo.policies)
    out.update(extra or {})
    try:
        parse_policies(out)  # every pattern and policy now, not half way through a merge
    except ValueError as exc:
        raise InvalidAttributesError(f"merge policies: {exc}") from None
    return out


def empty_root_like(repo: "Repository", root: str | None) -> str:
    """The root of an empty state of the same kind as ``root`` ({} by default)."""
    kind = view(repo.objects, Ref(root))[0] if root else OBJECT  # chunked containers too
    value: Any = [] if kind == ARRAY else ({} if kind == OBJECT else None)
    empty, objects = write_tree(value)
    repo.objects.extra.update(objects)
    return empty


def base_root(repo: "Repository", a: str, b: str, source: Any) -> tuple[str, tuple[str, ...], Any]:
    """Tree of the merge base of commits a and b; several best bases are merged into a virtual
    one (recursively, ties broken by generation then id, as git's recursive strategy)."""
    get = repo.objects.commit
    bases = tuple(merge_bases(get, a, b))
    if not bases:
        return empty_root_like(repo, get(a).root), (), source
    root = get(bases[0]).root
    for other in bases[1:]:
        inner, _, source = base_root(repo, bases[0], other, source)
        virtual = merge_trees(source, inner, root, get(other).root, strategy="target_wins")
        root = virtual.root
        if virtual.objects:
            source = LayeredSource(source, virtual.objects)
    return root, bases, source


def prepare_merge(
    repo: "Repository",
    source: str | Commit,
    into: str | None = None,
    strategy: str = "merge",
    ff: str = "auto",
    paths: list[str] | None = None,
    resolutions: Mapping[str, Any] | None = None,
    policies: Mapping[str, str] | None = None,
) -> PreparedMerge:
    """Compute a merge of ``source`` into ``into`` (default: HEAD's branch) without writing it."""
    check_strategy(strategy)
    if ff not in FF_MODES:
        raise ValueError(f"unknown ff mode {ff!r}; choose one of {', '.join(FF_MODES)}")
    src = repo.resolve(source)
    ref = refnames.branch_ref(into) if into else (repo.head_ref() or HEAD)
    target_id = repo._ref_target(ref)
    get = repo.objects.commit
    if target_id is None:
        return PreparedMerge(ref, None, src, "fast-forward", strategy=strategy, paths=paths)
    target = get(target_id)
    if paths is None:
        if is_ancestor(get, src.id, target.id):
            return PreparedMerge(ref, target, src, "up-to-date", strategy=strategy)
        if ff != "never" and is_ancestor(get, target.id, src.id):
            return PreparedMerge(ref, target, src, "fast-forward", strategy=strategy)
    if ff == "only":
        raise NotFastForwardError(
            f"cannot fast-forward {refnames.short_name(ref)} to {src.short_id}: the histories have diverged"
        )
    nodes: Any = repo.objects
    base, bases, nodes = base_root(repo, target.id, src.id, nodes)
    rules = repository_policies(repo, policies, (src, target))
    merged = merge_trees(nodes, base, target.root, src.root, strategy, rules, paths)
    root, objects = merged.root, dict(merged.objects)
    conflicts = _outermost(merged.conflicts)
    settled: list[Conflict] = []
    if resolutions:
        before = conflicts
        root, more, conflicts = apply_resolutions(LayeredSource(nodes, objects), root, conflicts, resolutions,
                                                  rules)
        objects.update(more)
        settled = [c for c in before if c not in conflicts]
    return PreparedMerge(ref, target, src, "merge", bases, root, objects, conflicts, settled, strategy, paths)


def _outermost(conflicts: list[Conflict]) -> list[Conflict]:
    """Drop conflicts nested inside another conflict's value (the outer one covers them)."""
    paths = [c.path for c in conflicts]
    return [c for c in conflicts
            if not any(p != c.path and (p == "" or c.path.startswith(p + "/")) for p in paths)]


def merge_metadata(p: PreparedMerge) -> dict[str, Any]:
    meta: dict[str, Any] = {"merge": {"strategy": p.strategy, "source": p.source.id, "bases": list(p.bases)}}
    if p.paths is not None:
        meta["merge"]["paths"] = list(p.paths)
    if p.settled:
        meta["merge"]["resolved"] = [c.path for c in p.settled]
    return meta


def default_message(repo: "Repository", p: PreparedMerge, source_label: str) -> str:
    where = refnames.short_name(p.target_ref)
    if p.paths is not None:
        return f"Merge {', '.join(p.paths)} from {source_label} into {where}"
    return f"Merge {source_label} into {where}"


def finish_merge(repo: "Repository", p: PreparedMerge, message: str | None, author: str | None,
                 source_label: str) -> MergeOutcome:
    """Write a prepared merge: move the branch (fast-forward) or commit the merge."""
    branch = refnames.short_name(p.target_ref) if p.target_ref.startswith(refnames.BRANCH_PREFIX) else None
    if p.kind == "up-to-date":
        assert p.target is not None
        return MergeOutcome(p.target, "up-to-date", strategy=p.strategy)
    if p.kind == "fast-forward":
        # Checked as the merge commit a --no-ff merge would make, in the transaction that
        # moves the branch: the source's state against the target's rules.
        expected = p.target.id if p.target else None
        repo._write({}, [(p.target_ref, p.source.id, expected)], f"merge {source_label}: fast-forward",
                    check=lambda tx: check_branch_move(repo, tx, p.target_ref, p.source.id, expected))
        return MergeOutcome(p.source, "fast-forward", strategy=p.strategy)
    if p.conflicts:
        raise MergeConflictError(
            f"{len(p.conflicts)} conflict(s) merging {source_label} into {refnames.short_name(p.target_ref)}: "
            + ", ".join(c.path or "/" for c in p.conflicts[:5]) + (" ..." if len(p.conflicts) > 5 else ""),
            p.conflicts,
        )
    assert p.target is not None
    extra = (p.source.id,) if p.paths is None else ()
    commit = repo._commit_root(
        p.root, dict(p.objects), message or default_message(repo, p, source_label), author, branch,
        parent=p.target.id, metadata=merge_metadata(p), allow_empty=True, extra_parents=extra, why="merge",
    )
    return MergeOutcome(commit, "merge", p.bases, p.strategy, tuple(p.settled))


def prepare_replay(repo: "Repository", rev: str | Commit, reverse: bool, branch: str | None,
                   strategy: str) -> PreparedMerge:
    """Compute a revert (``reverse``) or cherry-pick of ``rev`` onto ``branch`` without writing it."""
    check_strategy(strategy)
    c = repo.resolve(rev)
    ref = refnames.branch_ref(branch) if branch else (repo.head_ref() or HEAD)
    head_id = repo._ref_target(ref)
    if head_id is None:
        raise MergeConflictError(f"{refnames.short_name(ref)} has no commits to apply {c.short_id} to")
    head = repo.objects.commit(head_id)
    parent_root = repo.objects.commit(c.parents[0]).root if c.parents else empty_root_like(repo, c.root)
    base, theirs = (c.root, parent_root) if reverse else (parent_root, c.root)
    merged = merge_trees(repo.objects, base, head.root, theirs, strategy, repository_policies(repo, None))
    return PreparedMerge(ref, head, c, "merge", (), merged.root, dict(merged.objects), _outermost(merged.conflicts),
                         strategy=strategy, operation="revert" if reverse else "cherry-pick")


def replay_message(p: PreparedMerge, message: str | None) -> str:
    if message:
        return message
    if p.operation == "revert":
        return f'Revert "{p.source.summary}"\n\nThis reverts commit {p.source.id}.'
    return p.source.message


def replay_metadata(p: PreparedMerge) -> dict[str, Any]:
    return {"reverts": p.source.id} if p.operation == "revert" else {"cherry_picked_from": p.source.id}


def replay(repo: "Repository", rev: str | Commit, reverse: bool, branch: str | None, strategy: str,
           message: str | None, author: str | None) -> Commit:
    """Revert (reverse) or cherry-pick a commit onto ``branch`` by a three-way merge."""
    p = prepare_replay(repo, rev, reverse, branch, strategy)
    if p.conflicts:
        raise MergeConflictError(
            f"{len(p.conflicts)} conflict(s) in {p.operation} of {p.source.short_id}: "
            + ", ".join(x.path or "/" for x in p.conflicts[:5]),
            p.conflicts,
        )
    assert p.target is not None
    return repo._commit_root(p.root, dict(p.objects), replay_message(p, message),
                             author or (None if reverse else p.source.author), branch, parent=p.target.id,
                             metadata=replay_metadata(p), why=p.operation)


__all__ = ["MergeOutcome", "PreparedMerge", "prepare_merge", "finish_merge", "prepare_replay", "replay"]
