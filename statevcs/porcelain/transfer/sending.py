"""What travels between two stores, checked before it travels: planning, validation, batches.

Only missing objects travel: commits are walked back from the tips until the other side
already has one, and each new commit's tree is walked down until a subtree the other side
has. Everything planned is decoded and checked (kinds, commit structure, generations,
depth) before anything is written. Objects go in batches, each batch one transaction, in
dependency order (a commit only after its nodes and parents), so after any batch every
commit the receiver holds has everything it needs: an interrupted transfer leaves the
receiver consistent, and running it again sends the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from ...errors import (
    CorruptObjectError,
    LimitExceededError,
    ObjectNotFoundError,
)
from ...limits import ENV_MAX_DEPTH, max_depth
from ...model.canonical import nesting
from ...model.chunks.format import ChunkNode
from ...model.objects import (
    COMMIT,
    NODE_KINDS,
    TAG,
    ArrayNode,
    ObjectNode,
    Ref,
    ValueNode,
    check_commit_links,
    decode_commit,
    split_kind,
)
from ...model.tree import node_children
from ...store.base import Store, Transaction

if TYPE_CHECKING:
    from ..repository.facade import Repository

Progress = Callable[[int, int], None]  # (objects sent so far, objects to send)

BATCH_OBJECTS = 500
BATCH_BYTES = 4 << 20
#: Longest chain of annotated tags (a tag of a tag of ...) a transfer follows.
MAX_TAG_CHAIN = 100


@dataclass(frozen=True)
class TransferReport:
    """What a transfer sent: commits, objects and their raw bytes."""

    commits: int = 0
    objects: int = 0
    bytes: int = 0


def plan(src: "Repository", dst: Store, tips: Iterable[str]) -> list[str]:
    """Ids the receiver lacks to hold ``tips`` (commits or tags), in dependency order.

    Everything listed has been decoded and checked first (canonical bytes, kinds, commit
    structure and generations, tree depth): a bad object from a hostile sender raises a
    CorruptObjectError naming it before a single object is written or a ref moves."""
    try:
        return _plan(src, dst, tips)
    except ObjectNotFoundError as exc:
        raise CorruptObjectError(f"the sending repository is incomplete: {exc}") from None


def _plan(src: "Repository", dst: Store, tips: Iterable[str]) -> list[str]:
    get = src.objects.commit
    wanted_tags: list[str] = []
    commit_tips: list[str] = []
    for oid in dict.fromkeys(tips):
        for _ in range(MAX_TAG_CHAIN):
            kind = src.objects.kind(oid)
            if kind != TAG:
                break
            wanted_tags.append(oid)
            oid = src.objects.tag(oid).target
        else:
            raise CorruptObjectError(f"tag {oid} starts a chain of more than {MAX_TAG_CHAIN} tags")
        if kind != COMMIT:
            raise CorruptObjectError(f"object {oid} is a {kind.decode(errors='replace')!r}, not a commit or tag")
        commit_tips.append(oid)
    # Commits the receiver lacks, found level by level (one membership query per level).
    missing: dict[str, None] = {}
    frontier = [c for c in dict.fromkeys(commit_tips)]
    seen = set(frontier)
    while frontier:
        have = dst.has_many(frontier)
        nxt = []
        for oid in frontier:
            if oid in have:
                continue
            missing[oid] = None
            for parent in get(oid).parents:
                if parent not in seen:
                    seen.add(parent)
                    nxt.append(parent)
        frontier = nxt
    _check_generations(src, dst, missing)
    order: list[str] = []
    scheduled: set[str] = set()
    for commit in sorted((get(oid) for oid in missing), key=lambda c: (c.generation, c.id)):
        nodes = _missing_nodes(src, dst, commit.root, scheduled)
        _check_depth(src, commit.root, set(nodes))
        order.extend(nodes)
        order.append(commit.id)
    tag_have = dst.has_many(wanted_tags)
    order.extend(t for t in reversed(wanted_tags) if t not in tag_have)
    return order


def _check_generations(src: "Repository", dst: Store, missing: dict[str, None]) -> None:
    """Every new commit's generation is 1 + its parents' (history algorithms rely on it)."""
    known: dict[str, int] = {}

    def generation(oid: str) -> int:
        if oid not in known:
            if oid in missing:
                known[oid] = src.objects.commit(oid).generation
            else:  # the receiver holds it (checked when it arrived)
                known[oid] = decode_commit(oid, dst.get(oid)).generation
        return known[oid]

    for oid in missing:
        commit = src.objects.commit(oid)
        check_commit_links(commit, [generation(p) for p in commit.parents])


def _check_depth(src: "Repository", root: str, new: set[str]) -> None:
    """LimitExceededError if the new nodes of the tree at ``root`` nest past the depth limit.

    Heights are measured bottom-up over the new nodes (a node the receiver already holds
    counts as one level; reading enforces the limit on the whole tree in any case)."""
    limit = max_depth()
    height: dict[str, int] = {}
    stack: list[tuple[str, bool]] = [(root, False)] if root in new else []
    while stack:
        oid, ready = stack.pop()
        if oid in height:
            continue
        node = src.objects.node(oid)
        kids = node_children(node)
        refs = [] if kids is None else [c.id for c in (kids.values() if isinstance(kids, dict) else kids)
                                        if type(c) is Ref]
        if not ready:
            stack.append((oid, True))
            stack.extend((k, False) for k in refs if k in new and k not in height)
            if len(stack) > 2 * limit + len(new):
                raise LimitExceededError(f"the tree at {root} nests deeper than the limit of {limit} levels")
            continue
        own = _own_height(node)
        below = max((height.get(k, 1) for k in refs), default=0)
        # The chunks below an interior chunk hold the same container's entries: no level.
        interior = type(node) is ChunkNode and node.height > 0
        height[oid] = max(own, below if interior else 1 + below)
        if height[oid] > limit:
            raise LimitExceededError(
                f"the tree at {root} nests deeper than the limit of {limit} levels (at node {oid}; "
                f"{ENV_MAX_DEPTH} raises it, see docs/security.md)")


def _own_height(node: object) -> int:
    if type(node) is ChunkNode:
        if node.height:
            return 0
        return nesting([c for _, c in node.entries] if node.container == "object" else list(node.entries))
    if isinstance(node, ObjectNode):
        return nesting(list(node.children.values()))
    if isinstance(node, ArrayNode):
        return nesting(node.items)
    assert isinstance(node, ValueNode)
    return nesting(node.value)


def _missing_nodes(src: "Repository", dst: Store, root: str, scheduled: set[str]) -> list[str]:
    """Nodes of the tree at ``root`` the receiver lacks, children before parents."""
    out: list[str] = []
    level = [root] if root not in scheduled else []
    if level and dst.has(root):
        kind = split_kind(dst.get(root))[0]
        if kind not in NODE_KINDS:
            raise CorruptObjectError(f"a commit's root {root} is a {kind.decode(errors='replace')}, not a state node")
    while level:
        have = dst.has_many(level)
        nxt = []
        for oid in level:
            if oid in have or oid in scheduled:
                continue
            scheduled.add(oid)
            out.append(oid)
            kids = node_children(src.objects.node(oid))
            if kids is None:
                continue
            values = kids.values() if isinstance(kids, dict) else kids
            nxt.extend(c.id for c in values if type(c) is Ref and c.id not in scheduled)
        level = list(dict.fromkeys(nxt))
    out.reverse()  # deepest first: a node is written after the nodes it links to
    return out


def send(src: "Repository", dst: Store, tips: Iterable[str], progress: Progress | None = None,
         epoch: int | None = None) -> TransferReport:
    """Copy to ``dst`` every object it lacks to hold ``tips``; refs are not touched.

    ``epoch`` is ``dst.gc_epoch()`` read before this call. A batch lands only while it is
    unchanged (checked in the batch's transaction): once a gc sweep has deleted anything
    since the plan, what a batch links to and the plan found present may be gone, and a
    batch written on top of it would leave objects whose links are missing. The remaining
    batches are then left to ``recheck``, which re-plans in the transaction that moves the
    refs. So every object in ``dst`` keeps everything it links to (docs/gc.md)."""
    order = plan(src, dst, tips)
    total, sent, size, commits = len(order), 0, 0, 0
    batch: dict[str, bytes] = {}
    batch_bytes = 0
    if progress:
        progress(0, total)
    for oid in order:
        raw = src.store.get(oid)  # verified on read: corruption never travels
        batch[oid] = raw
        batch_bytes += len(raw)
        size += len(raw)
        if raw.startswith(COMMIT + b" "):
            commits += 1
        if len(batch) >= BATCH_OBJECTS or batch_bytes >= BATCH_BYTES:
            if not _put_batch(dst, batch, epoch):
                return TransferReport(commits, total, size)
            sent += len(batch)
            batch, batch_bytes = {}, 0
            if progress:
                progress(sent, total)
    if batch and _put_batch(dst, batch, epoch):
        sent += len(batch)
        if progress:
            progress(sent, total)
    return TransferReport(commits, total, size)


def _put_batch(dst: Store, batch: dict[str, bytes], epoch: int | None) -> bool:
    """Write one batch unless a sweep deleted objects since ``epoch`` (then False, nothing written)."""
    with dst.transaction() as tx:
        if epoch is not None and tx.gc_epoch() != epoch:
            return False
        tx.put_objects(batch)
    return True


def recheck(src: "Repository", dst: Store, tips: Iterable[str], epoch: int | None) -> Callable[[Transaction], None]:
    """The check a transfer runs inside the transaction that moves its refs to ``tips``.

    ``epoch`` is ``dst.gc_epoch()`` read before the transfer was planned (None: unknown).
    That transaction excludes gc's sweep, so if no sweep deleted anything since (the epoch
    is unchanged: one small read), everything planned as present or sent is still there.
    Otherwise the transfer is planned again against what ``dst`` holds now (its reads run in
    that transaction: same thread, same connection; an object present there has everything
    it links to, as ``send`` keeps it) and whatever is missing is put in it, so the refs never
    move to a commit whose objects are gone (docs/gc.md)."""
    wanted = list(dict.fromkeys(tips))

    def check(tx: Transaction) -> None:
        if epoch is not None and tx.gc_epoch() == epoch:
            return
        batch: dict[str, bytes] = {}
        for oid in plan(src, dst, wanted):
            batch[oid] = src.store.get(oid)
            if len(batch) >= BATCH_OBJECTS:
                tx.put_objects(batch)
                batch = {}
        if batch:
            tx.put_objects(batch)

    return check


# ---------------------------------------------------------------- remote configuration
