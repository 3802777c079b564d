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


def path_text(path: str) -> str:
    """``path`` as text to store or show (a reflog reason, a default message): bytes of the
    name that are not UTF-8 (lone surrogates, PEP 383) written ``\\xff``, as git shows them."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
