"""Chunked containers (statevcs.model.chunks), measured on their own, below the tree writer
(benchmarks/bench_scale.py measures them through a repository).

    python benchmarks/bench_chunked.py [--quick]

For arrays of N agents and objects of N agents keyed by id (N = 1k, 10k, 50k), prints:
build time, tree height and node count; bytes of the new nodes for one append and for
one changed key (beside the bytes a flat ``arr1``/``obj1`` node rewrites today); and for
a diff of 10 scattered changes, the nodes read and the time. Then the bytes written by a
500-turn chat log (one ~500-byte message appended per turn) against its raw size.
Raw object bytes, before the store's zstd compression. Nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statevcs.model.canonical import canonical_bytes  # noqa: E402
from statevcs.model.chunks.build import build_array, build_object
from statevcs.model.chunks.diff import array_windows, object_changes  # noqa: E402
from statevcs.model.chunks.edit import array_append, array_set, object_set  # noqa: E402
from statevcs.model.chunks.format import decode_chunk
from statevcs.model.chunks.read import array_get  # noqa: E402


class CountingSource:
    """Raw objects from a dict, counting reads."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads = 0

    def raw(self, oid: str) -> bytes:
        self.reads += 1
        return self.objects[oid]


def agent(i: int) -> dict:
    return {"id": f"agent-{i:06d}", "role": "worker", "status": "idle", "score": i % 97, "tasks": [i % 7, i % 11]}


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def size(objects: dict[str, bytes]) -> int:
    return sum(map(len, objects.values()))


def bench_shape(n: int, shape: str) -> None:
    if shape == "array":
        value: list | dict = [agent(i) for i in range(n)]
        (root, store), build_ms = timed(lambda: build_array(value))
    else:
        value = {f"agent-{i:06d}": agent(i) for i in range(n)}
        (root, store), build_ms = timed(lambda: build_object(value))
    flat = len(canonical_bytes(value)) + 30  # what one flat node holds (and rewrites) today
    height = decode_chunk(root, store[root]).height
    line = f"{shape:6} n={n:>6}  build {build_ms:7.1f} ms  height {height}  nodes {len(store):5}  flat node {flat / 1024:7.1f} KB"
    if shape == "array":
        _, new = array_append(CountingSource(store), root, agent(n))
        line += f"  append: {len(new)} nodes {size(new):6} B"
        _, new = array_set(CountingSource(store), root, n // 3, agent(-1))
        line += f"  set one: {len(new)} nodes {size(new):6} B"
        src = CountingSource(store)
        array_get(src, root, n // 2)
        line += f"  get: {src.reads} reads"
    else:
        _, new = object_set(CountingSource(store), root, f"agent-{n // 3:06d}", agent(-1))
        line += f"  one key: {len(new)} nodes {size(new):6} B"
    print(line)
    changed = dict(store)
    root_b = root
    for k in range(10):
        index = (k * n) // 10 + 7
        if shape == "array":
            root_b, new = array_set(CountingSource(changed), root_b, index, agent(-k))
        else:
            root_b, new = object_set(CountingSource(changed), root_b, f"agent-{index:06d}", agent(-k))
        changed.update(new)
    src = CountingSource(changed)
    if shape == "array":
        found, diff_ms = timed(lambda: array_windows(src, root, root_b))
    else:
        found, diff_ms = timed(lambda: object_changes(src, root, root_b))
    print(f"{'':6} {'':8}  diff of 10 changes: {len(found)} found, {src.reads} nodes read, {diff_ms:.2f} ms")


def bench_chat(turns: int) -> None:
    message = {"role": "assistant", "content": "x" * 440}
    root, store = build_array([])
    written = size(store)
    raw = 0
    for turn in range(turns):
        item = dict(message, turn=turn)
        raw += len(canonical_bytes(item))
        root, new = array_append(CountingSource(store), root, item)
        store.update(new)
        written += size(new)
    print(
        f"chat {turns} turns: raw messages {raw / 1024:.0f} KB, chunk nodes written {written / 1024:.0f} KB "
        f"({written / raw:.1f}x raw before compression; a flat node rewrites ~{turns / 2:.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, 100 chat turns")
    args = parser.parse_args()
    sizes = [1000, 10000] if args.quick else [1000, 10000, 50000]
    for shape in ("array", "object"):
        for n in sizes:
            bench_shape(n, shape)
    bench_chat(100 if args.quick else 500)


if __name__ == "__main__":
    main()
