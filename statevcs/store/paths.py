"""Where a repository lives: the names of its directory and files, and what counts as a URL.

The bottom of the store layer's locating code: locate.py opens stores by these names,
keys.py finds key files in the config, the porcelain builds and finds repositories.
"""

from __future__ import annotations

DIR_NAME = ".statevcs"
DB_NAME = "statevcs.db"
#: The repository's settings (working file, remotes, key file) inside DIR_NAME.
CONFIG_NAME = "config.json"
#: The ref whose presence marks an encrypted repository (store/encrypted.py): read on every
#: open, so checking it must not load the cryptography package.
MARKER_REF = "refs/meta/encryption"


def is_url(location: str) -> bool:
    """Whether ``location`` names a store by URL (``postgresql://...``, ``memory:``), not a directory."""
    return "://" in location or location == "memory:"
