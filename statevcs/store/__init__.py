"""Storage backends behind two small interfaces: ObjectStore and RefStore.

A backend is a :class:`Store`: it reads objects and refs, and writes both in one
atomic :meth:`Store.transaction`. Everything above (trees, commits, merge) is written
once on top of these interfaces.
"""

from .base import ObjectStore, RefLogEntry, RefStore, Store, Transaction

__all__ = ["ObjectStore", "RefStore", "Store", "Transaction", "RefLogEntry"]
