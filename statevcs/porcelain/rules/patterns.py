"""Regular expressions of JSON Schemas, matched in linear time (RE2), never by Python's ``re``.

Python's ``re`` backtracks: ``^(a+)+$`` against thirty ``a`` and a ``!`` runs for minutes.
RE2 (the ``google-re2`` package, in the ``rules`` extra) matches in time linear in the text
and refuses what it cannot do that way (back-references, look-arounds), so a schema with
such a pattern is refused when it is set. Without the package, a schema using ``pattern``
or ``patternProperties`` is refused: there is no silent fallback to ``re``.

:data:`RE2_MODULE` stands in for the ``re`` module inside the jsonschema functions that
match patterns (see :mod:`.engine`); it has only ``search``, the one function they call.
"""

from __future__ import annotations

import functools
from typing import Any

from ...errors import InvalidRulesError

EXTRA_HINT = 'matching patterns safely needs the google-re2 package: pip install "statevcs[rules]"'


@functools.lru_cache(maxsize=1)
def _re2() -> tuple[Any, Any] | None:
    """(module, options) of google-re2, or None when it is not installed."""
    try:
        import re2
    except ImportError:
        return None
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.never_capture = True
    return re2, options


def have_re2() -> bool:
    return _re2() is not None


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    found = _re2()
    if found is None:
        raise InvalidRulesError(f"the schema uses the pattern {pattern!r}: {EXTRA_HINT}")
    module, options = found
    try:
        return module.compile(pattern, options)
    except module.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise InvalidRulesError(
            f"pattern {pattern!r} cannot be matched in linear time ({reason}); "
            "back-references and look-arounds are not supported") from None


def check_pattern(pattern: Any, where: str, source: str) -> None:
    """Refuse (InvalidRulesError naming ``where``, a pointer in the schema) a pattern RE2
    cannot compile, or any pattern when google-re2 is missing."""
    if not isinstance(pattern, str):
        return  # not a pattern the validator would match; the meta-schema check says so
    if not have_re2():
        raise InvalidRulesError(f"{source} uses a pattern at {where}: {EXTRA_HINT}")
    try:
        _compiled(pattern)
    except InvalidRulesError as exc:
        raise InvalidRulesError(f"{source}: {exc} (at {where})") from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (as ``re.search``), in linear time."""
    return _compiled(pattern).search(text) is not None


class _RE2Module:
    """The part of the ``re`` module jsonschema's pattern keywords use, over RE2."""

    @staticmethod
    def search(pattern: str, string: str, flags: int = 0) -> bool:
        if flags:
            raise InvalidRulesError("a pattern flag was asked for; schemas match without flags")
        return search(pattern, string)


RE2_MODULE = _RE2Module()
