"""The Repository's remote methods: naming remotes, fetch, push, pull and clone. A mixin of
the facade (repository/facade.py); the transfers themselves live in transfer/remotes.py."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ...errors import InvalidRefNameError, RefExistsError
from ...model import refnames
from ...store.paths import is_url

if TYPE_CHECKING:
    from ..merging.merges import MergeOutcome
    from ..transfer.remotes import FetchReport, TransferReport
    from .facade import Repository


class RemoteMethods:
    """Remotes of a Repository (kept in its config) and the transfers between repositories."""

    # ---------------------------------------------------------------- remotes
    @property
    def remotes(self) -> dict[str, str]:
        """Remote name -> URL or path (NotARepositoryError naming the way out for a bad entry)."""
        from ..worktree import settings

        return settings.remotes(self.config(), self.meta_dir)

    def add_remote(self, name: str, location: str, key_file: str | None = None) -> None:
        """Name another repository (a directory or a store URL) for fetch, push and pull;
        ``key_file`` holds the key of an encrypted remote (docs/encryption.md)."""
        refnames.check_name(name, "remote name")
        if "/" in name:
            raise InvalidRefNameError(f"invalid remote name {name!r}: must not contain '/'")
        from ..worktree import settings

        config = self.config()
        remotes = settings.remotes(config, self.meta_dir)  # a damaged entry: the error names the fix
        if name in remotes:
            raise RefExistsError(f"a remote named {name!r} already exists ({remotes[name]})")
        config.setdefault("remotes", {})[name] = location if is_url(location) else os.path.abspath(location)
        if key_file is not None:
            config.setdefault("remote_key_files", {})[name] = os.path.abspath(key_file)
        self._save_config(config)

    def remove_remote(self, name: str) -> None:
        """Forget a remote and its remote-tracking refs."""
        from ...errors import RemoteNotFoundError

        config = self.config()
        if name not in config.get("remotes", {}):
            raise RemoteNotFoundError(f"no remote named {name!r}")
        del config["remotes"][name]
        config.get("remote_key_files", {}).pop(name, None)
        self._save_config(config)
        tracking = self.store.list_refs(f"{refnames.REMOTE_PREFIX}{name}/")
        if tracking:
            self._write({}, [(ref, None, oid) for ref, oid in tracking.items()], f"remote: removed {name}")

    def fetch(self, remote: str, progress: Any = None) -> "FetchReport":
        """Copy a remote's branches (to ``refs/remotes/NAME/*``) and new tags; only missing objects travel."""
        from ..transfer.remotes import fetch

        return fetch(self, remote, progress)

    def push(self, remote: str, branch: str, force: bool = False, progress: Any = None) -> "TransferReport":
        """Send ``branch`` to the remote; NotFastForwardError unless it fast-forwards (or ``force``)."""
        from ..transfer.remotes import push

        return push(self, remote, branch, force, progress)[0]

    def pull(self, remote: str, branch: str, strategy: str = "merge", progress: Any = None,
             **merge_options: Any) -> "MergeOutcome":
        """Fetch, then merge the remote's ``branch`` into the current branch."""
        from ..transfer.remotes import pull

        return pull(self, remote, branch, strategy, progress, **merge_options)

    @classmethod
    def clone(cls, source: str, target: str, progress: Any = None, author: str | None = None,
              key: str | bytes | None = None) -> "Repository":
        """A new repository at ``target`` (directory or URL) with ``source``'s history; the
        remote is named ``origin`` and its HEAD branch is checked out. With ``key`` the new
        repository is encrypted; an encrypted source is opened with the ``key_file`` in its
        config or ``STATEVCS_KEY`` (docs/encryption.md)."""
        from ..transfer.remotes import clone

        return clone(cls, source, target, progress, author, key=key)
