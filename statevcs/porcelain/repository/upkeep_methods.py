"""The Repository's looking-after methods: gc, fsck, purge, state rules, retention and
bundles. A mixin of the facade (repository/facade.py) so that module stays a readable size; each method
hands its work to the module that owns it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..transfer.bundles import BundleReport
    from ..upkeep.fsck import FsckReport
    from ..upkeep.gc import GcReport
    from ..upkeep.purge import PurgeReport
    from ..upkeep.purge_journal import UnfinishedPurge
    from ..upkeep.retention import BranchExpiry, PruneReport
    from ..upkeep.stats import RepoStats
    from .facade import Repository


class MaintenanceMethods:
    """gc, fsck, purge, schemas, branch expiry, prune, stats and bundles on a Repository."""

    # ---------------------------------------------------------------- maintenance
    def reachable(self) -> set[str]:
        """Every object reachable from refs and from the reflogs of existing refs."""
        from ..upkeep.gc import reachable

        return reachable(self)

    def gc(self, prune: Any = "2.weeks", expire: Any = "90.days", expire_unreachable: Any = "30.days") -> "GcReport":
        """Expire reflog entries older than ``expire`` (``expire_unreachable`` for those the
        tip no longer reaches), then delete objects no ref, reflog entry or object written
        within ``prune`` can reach. Ages: timedelta, seconds, or ``"now"``, ``"never"``,
        ``"2.weeks"``, ``"14d"``, ``"2h"``. Safe while others write (docs/gc.md)."""
        from ..upkeep.gc import gc

        return gc(self, prune, expire, expire_unreachable)

    def fsck(self) -> "FsckReport":
        """Verify every object's hash and every link reachable from refs."""
        from ..upkeep.fsck import fsck

        return fsck(self)

    # ---------------------------------------------------------------- erasure and state rules
    def purge(self, pointer: str, branches: list[str] | None = None, all: bool = False,
              dry_run: bool = False) -> "PurgeReport":
        """Erase the value at ``pointer`` from every commit of the chosen history (``branches``,
        every ref with ``all``, else HEAD's branch): commits are rewritten, branches and tags
        moved, the reflog entries reaching old commits expired and the old objects collected
        (docs/erasure.md). PurgeError, nothing changed, if no commit there holds the pointer.
        Journaled: if it stops after it began (PurgeInterruptedError, or a crash), the same
        call again or ``purge_continue()`` finishes it."""
        from ..upkeep.purge import purge

        return purge(self, pointer, branches, all, dry_run)

    def purge_continue(self) -> "PurgeReport":
        """Finish an interrupted purge (``statevcs purge --continue``); PurgeError if none is unfinished."""
        from ..upkeep.purge import purge_continue

        return purge_continue(self)

    def unfinished_purge(self) -> "UnfinishedPurge | None":
        """The purge that began and has not finished (pointer, step, when, who), or None."""
        from ..upkeep.purge_journal import unfinished_purge

        return unfinished_purge(self)

    def set_schema(self, schema: Any, branch: str | None = None) -> None:
        """Store a JSON Schema every later commit (on ``branch``, or on every branch) must satisfy
        (docs/rules.md); InvalidRulesError if it is not a valid JSON Schema."""
        from ..rules.schema import set_schema

        set_schema(self, schema, branch)

    def unset_schema(self, branch: str | None = None) -> bool:
        """Drop the stored schema of ``branch`` (None: the repository's); False, and nothing
        written, when none was stored."""
        from ..rules.schema import set_schema

        return set_schema(self, None, branch, remove=True)

    def schema(self, branch: str | None = None, effective: bool = False) -> Any:
        """The stored schema of ``branch`` (None: the repository's), or None; with ``effective``,
        the schema commits on ``branch`` are checked against, wherever it comes from."""
        from ..rules.schema import get_schema

        return get_schema(self, branch, effective)

    # ---------------------------------------------------------------- retention and backups
    def branch_expiries(self) -> dict[str, "BranchExpiry"]:
        """Branch name -> its expiry, for branches created or marked with one (docs/retention.md)."""
        from ..upkeep.retention import branch_expiries

        return branch_expiries(self)

    def set_branch_expiry(self, name: str, expires: Any) -> "datetime | None":
        """Make branch ``name`` expire (timedelta, datetime, or an age such as ``"2h"``); None or
        ``"never"`` clears it. gc deletes expired branches. Returns the moment (None: cleared)."""
        from ..upkeep.retention import set_branch_expiry

        return set_branch_expiry(self, name, expires)

    def prune(self, branch: str, keep: int | None = None, since: Any = None, force: bool = False,
              author: str | None = None) -> "PruneReport":
        """Squash ``branch``'s history older than its newest ``keep`` commits (or than ``since``,
        a datetime, ISO date or age) into one root commit; the kept commits get new ids
        (``report.id_map``, also in the reflog and each commit's ``pruned_from`` metadata).
        SharedHistoryError if other refs reach that history, unless ``force``."""
        from ..upkeep.retention import prune

        return prune(self, branch, keep, since, force, author)

    def stats(self, top: int = 10) -> "RepoStats":
        """Object count, raw and stored bytes, commits per branch, and HEAD's ``top`` largest paths."""
        from ..upkeep.stats import stats

        return stats(self, top)

    def bundle_create(self, path: str, refs: list[str] | None = None, exclude: list[str] | None = None
                      ) -> "BundleReport":
        """Write ``refs`` (default: every branch and tag, and HEAD) and the objects they need to
        one verifiable bundle file at ``path`` (docs/storage-format.md); history reachable from
        ``exclude`` revisions is left out (a thin bundle)."""
        from ..transfer.bundles import create_bundle

        return create_bundle(self, path, refs, exclude or ())

    @staticmethod
    def verify_bundle(path: str, repository: "Repository | None" = None) -> "BundleReport":
        """Check a bundle file: checksum, every object's hash, and that its refs' history is
        complete in it (or, for a thin bundle, in ``repository``). InvalidBundleError otherwise."""
        from ..transfer.bundles import verify_bundle

        return verify_bundle(path, repository)
