"""The JSON Schema validator statevcs runs: jsonschema's, made safe to run on a schema
written by anyone who can ``schema set`` (docs/security.md, "Schemas").

- **Never fetched.** References resolve in a ``referencing`` registry that holds the schema
  and the bundled meta-schemas, and nothing else: it has no retrieval, so a ``$ref`` to
  ``http://...`` or ``file://...`` is unresolvable (and refused when the schema is set, by
  :mod:`.schema_graph`), never a request.
- **Linear-time patterns.** ``pattern``, ``patternProperties``, and the helpers behind
  ``additionalProperties`` and ``unevaluatedProperties`` (which match ``patternProperties``
  keys) run jsonschema's own code with RE2 (:mod:`.patterns`) in place of ``re``.
- **Bounded work.** Every keyword evaluation spends one step of a budget proportional to
  the state's size times the schema's (:func:`budget`); a schema that needs more (one that
  is exponential, say) ends in InvalidRulesError, as does one that nests deeper than the
  interpreter's stack allows. Nothing else escapes: a check ends in a violation, in no
  violation, or in InvalidRulesError.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from ... import limits
from ...errors import InvalidRulesError, StateVCSError
from .patterns import RE2_MODULE

#: Steps left for the check running in this context (a one-item list, spent in place).
_steps_left: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("statevcs_schema_steps")
#: A budget's floor, in units of (values x keywords): small states with small schemas.
_FLOOR = 5000


class BudgetSpent(Exception):
    """Raised inside jsonschema's generators when the budget is spent (never escapes run)."""


def _names_used(code: types.CodeType) -> set[str]:
    """Global names a function's code (and any function, lambda or generator inside it) reads."""
    names, stack = set(), [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    return names


def _jsonschema_function(value: Any) -> bool:
    return isinstance(value, types.FunctionType) and str(value.__globals__.get("__name__", "")).startswith("jsonschema")


def linear(functions: list[Any]) -> dict[Any, Any]:
    """{function: replacement} for jsonschema ``functions``: a function that uses Python's
    ``re``, or calls (at any depth) a jsonschema helper that does, is replaced by a copy whose
    globals see RE2 for ``re`` and the copies for those helpers: jsonschema's own code,
    exactly, but linear. Others map to themselves. Found by what the code reads, not by module
    names, so jsonschema may move its helpers between private modules without this noticing."""
    calls: dict[Any, set[Any]] = {}
    uses_re: set[Any] = set()
    stack = [f for f in functions if _jsonschema_function(f)]
    while stack:
        function = stack.pop()
        if function in calls:
            continue
        calls[function] = set()
        for name in _names_used(function.__code__):
            value = function.__globals__.get(name)
            if value is re:
                uses_re.add(function)
            elif _jsonschema_function(value):
                calls[function].add(value)
                stack.append(value)
    tainted = set(uses_re)
    grew = True
    while grew:  # whoever calls a tainted function is tainted
        grew = False
        for function, callees in calls.items():
            if function not in tainted and callees & tainted:
                tainted.add(function)
                grew = True
    copies: dict[Any, Any] = {}
    for function in tainted:
        copy = types.FunctionType(function.__code__, dict(function.__globals__), function.__name__,
                                  function.__defaults__, function.__closure__)
        copy.__kwdefaults__ = function.__kwdefaults__
        copies[function] = copy
    for function, copy in copies.items():
        namespace = copy.__globals__
        for name in _names_used(function.__code__):
            value = function.__globals__.get(name)
            if value is re:
                namespace[name] = RE2_MODULE
            elif value in copies:
                namespace[name] = copies[value]
    return {function: copies.get(function, function) for function in functions}


_classes: dict[Any, Any] = {}
_classes_lock = threading.Lock()


def _budgeted(function: Callable[..., Any]) -> Callable[..., Any]:
    def keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        left = _steps_left.get(None)
        if left is not None:
            left[0] -= 1
            if left[0] < 0:
                raise BudgetSpent
        return function(validator, value, instance, schema)

    keyword.__name__ = getattr(function, "__name__", "keyword")
    return keyword


def safe_class(base: Any) -> Any:
    """jsonschema's validator class ``base`` (one draft) with linear patterns and a budget."""
    with _classes_lock:
        cls = _classes.get(base)
        if cls is None:
            from jsonschema.validators import extend

            replaced = linear(list(base.VALIDATORS.values()))
            cls = extend(base, {name: _budgeted(replaced[function]) for name, function in base.VALIDATORS.items()})
            _classes[base] = cls
    return cls


def registry() -> Any:
    """The only documents a reference may reach: none but the schema and the meta-schemas
    (jsonschema adds those); ``referencing.Registry()`` retrieves nothing."""
    import referencing

    return referencing.Registry()


_room_lock = threading.Lock()
_room_users = 0
_room_saved = 0
_room_set = 0


@contextlib.contextmanager
def stack_room(frames: int) -> Iterator[None]:
    """Room for ``frames`` more Python frames while a check runs: jsonschema descends with
    about five nested generators per level of the state, so a legitimate 255-deep state needs
    more than Python's default limit of 1,000. Raised once for all threads checking, and put
    back by the last one out unless someone else changed it meanwhile."""
    global _room_users, _room_saved, _room_set
    with _room_lock:
        if _room_users == 0:
            _room_saved = sys.getrecursionlimit()
            _room_set = _room_saved + frames
            sys.setrecursionlimit(_room_set)
        _room_users += 1
    try:
        yield
    finally:
        with _room_lock:
            _room_users -= 1
            if _room_users == 0 and sys.getrecursionlimit() == _room_set:
                sys.setrecursionlimit(_room_saved)


#: Python frames jsonschema uses per level of the state (measured: about 4.3), with room.
FRAMES_PER_LEVEL = 8


def count_values(state: Any) -> int:
    """How many values (containers and scalars) ``state`` holds."""
    count, stack = 0, [state]
    while stack:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


def budget(values: int, keywords: int) -> int:
    """Keyword evaluations a check of a state of ``values`` values against a schema of
    ``keywords`` keywords may spend: ``$STATEVCS_SCHEMA_WORK`` (default 4) per pair of a
    value and a keyword, and at least that many times 5,000. A schema that evaluates every
    keyword at every value a few times fits; one whose work grows exponentially does not."""
    return limits.schema_work() * max(values * max(keywords, 1), _FLOOR)


def run(check: Callable[[], Any], steps: int | None, source: str,
        way_out: str = "remove it with 'statevcs schema unset'") -> Any:
    """``check()`` within ``steps`` keyword evaluations (None: no budget) and a stack deep
    enough for any state the depth limit allows; anything but a StateVCSError becomes
    InvalidRulesError (ending in ``way_out``)."""
    import referencing.exceptions

    token = _steps_left.set(None if steps is None else [steps])
    try:
        with stack_room(FRAMES_PER_LEVEL * limits.max_depth()):
            return check()
    except BudgetSpent:
        raise InvalidRulesError(
            f"{source} takes more than its budget of {steps or 0:,} keyword evaluations to check this state "
            f"(a schema whose work grows exponentially?): simplify it, raise {limits.ENV_SCHEMA_WORK}, "
            f"or {way_out}") from None
    except RecursionError:
        raise InvalidRulesError(
            f"{source} nests deeper than Python's stack allows when checking this state: "
            f"simplify it, or {way_out}") from None
    except referencing.exceptions.Unresolvable as exc:
        raise InvalidRulesError(f"{source}: a reference does not resolve inside the schema ({exc}); "
                                "references are never fetched") from None
    except StateVCSError:
        raise
    except Exception as exc:  # jsonschema on a schema it accepted: still the schema's problem
        raise InvalidRulesError(f"{source} cannot check this state ({type(exc).__name__}: {exc}): "
                                f"fix it, or {way_out}") from None
    finally:
        _steps_left.reset(token)
