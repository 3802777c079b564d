"""Where LangGraph threads live in a repository: branch and ref names.

A thread (and checkpoint namespace) is the branch ``threads/<thread>`` (root
namespace) or ``threads/<thread>/<namespace>``; pending writes of a checkpoint live
under ``refs/langgraph/writes/<thread>/<namespace>/<checkpoint id>``. Thread ids,
namespaces and checkpoint ids are escaped into valid ref components: letters, digits,
``-`` and ``_`` stay, every other byte of the UTF-8 text becomes ``%XX``; the empty
string is ``%``. Escaping is a bijection, so names decode back exactly.
"""

from __future__ import annotations

import re

from ...model.refnames import BRANCH_PREFIX

#: The commit metadata key holding a checkpoint's LangGraph record.
LG_KEY = "langgraph"
THREADS = "threads"
WRITES_PREFIX = "refs/langgraph/writes/"
THREADS_REF_PREFIX = BRANCH_PREFIX + THREADS + "/"
_SAFE = re.compile(r"[A-Za-z0-9_-]")
_ALL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def escape(text: str) -> str:
    """``text`` as one valid ref component (see the module docstring)."""
    if _ALL_SAFE.fullmatch(text):  # the usual case (checkpoint ids are uuids): one C call
        return text
    if text == "":
        return "%"
    out = []
    for ch in text:
        if _SAFE.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def unescape(component: str) -> str:
    """Inverse of ``escape``."""
    if component == "%":
        return ""
    data = bytearray()
    pos = 0
    for m in _ESCAPED.finditer(component):
        data += component[pos:m.start()].encode("ascii")
        data.append(int(m.group(1), 16))
        pos = m.end()
    data += component[pos:].encode("ascii")
    return data.decode("utf-8", "surrogatepass")


def thread_branch(thread_id: str, ns: str = "") -> str:
    """The branch name of a thread's namespace: ``threads/<thread>[/<ns>]``."""
    base = f"{THREADS}/{escape(str(thread_id))}"
    return base if ns == "" else f"{base}/{escape(ns)}"


def thread_ref(thread_id: str, ns: str = "") -> str:
    return BRANCH_PREFIX + thread_branch(thread_id, ns)


def thread_refs_prefixes(thread_id: str) -> tuple[str, str]:
    """(the root namespace's ref, the prefix of the other namespaces' refs) of a thread."""
    ref = thread_ref(thread_id)
    return ref, ref + "/"


def parse_thread_ref(ref: str) -> tuple[str, str] | None:
    """(thread_id, namespace) of a thread branch ref, or None for any other ref."""
    if not ref.startswith(THREADS_REF_PREFIX):
        return None
    parts = ref[len(THREADS_REF_PREFIX):].split("/")
    if len(parts) not in (1, 2):
        return None
    try:
        return unescape(parts[0]), (unescape(parts[1]) if len(parts) == 2 else "")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None


def writes_ref(thread_id: str, ns: str, checkpoint_id: str) -> str:
    """The ref holding the pending writes of one checkpoint."""
    return f"{WRITES_PREFIX}{escape(str(thread_id))}/{escape(ns)}/{escape(str(checkpoint_id))}"


def writes_thread_prefix(thread_id: str) -> str:
    return f"{WRITES_PREFIX}{escape(str(thread_id))}/"


def writes_ns_prefix(thread_id: str, ns: str) -> str:
    return f"{WRITES_PREFIX}{escape(str(thread_id))}/{escape(ns)}/"


def parse_writes_ref(ref: str) -> tuple[str, str, str] | None:
    """(thread_id, namespace, checkpoint_id) of a writes ref, or None."""
    if not ref.startswith(WRITES_PREFIX):
        return None
    parts = ref[len(WRITES_PREFIX):].split("/")
    if len(parts) != 3:
        return None
    return unescape(parts[0]), unescape(parts[1]), unescape(parts[2])
