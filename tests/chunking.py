"""Chunk parameters for tests: small enough that the small values hypothesis draws are
written as trees of several chunk levels (content-defined at every level: an interior
entry weighs 64, so SPAN must stay above it for boundaries to depend on content)."""

from __future__ import annotations

from statevcs.model.chunked import ChunkParams

SMALL_CHUNKS = ChunkParams(min_weight=32, span=128, max_weight=512)
