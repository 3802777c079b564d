"""Ages as git's ``--prune``, ``--expire`` and ``--since`` take them: ``now``, ``never``,
``2.weeks``, ``14d``, ``2h``, a number of seconds, or a timedelta.

Shared by gc (grace period, reflog expiry), retention (branch expiry, prune) and the CLI.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Union

from ...errors import InvalidAgeError

#: An age: a timedelta, a number of seconds, or text such as ``now``, ``never``, ``2.weeks``, ``14d``, ``2h``.
Age = Union[timedelta, int, float, str]

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "month": 2592000, "months": 2592000,
    "y": 31536000, "year": 31536000, "years": 31536000,
}
_AGE = re.compile(r"(\d+(?:\.\d+)?)[. ]?([a-z]+)(?:[. ]ago)?")


def parse_age(value: Age) -> timedelta | None:
    """An age as a timedelta; None for ``never``. InvalidAgeError if it cannot be read.

    Text follows git's ``--prune``: ``now``, ``never``, ``N.unit`` or ``Nunit`` (s, m, h,
    d, w, month, y and their long names), optionally ending in ``.ago``; a bare number is seconds.
    """
    if isinstance(value, timedelta):
        age = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        age = timedelta(seconds=value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text == "now":
            return timedelta(0)
        if text == "never":
            return None
        try:
            age = timedelta(seconds=float(text))
        except ValueError:
            match = _AGE.fullmatch(text)
            if match is None or match.group(2) not in _UNITS:
                raise InvalidAgeError(
                    f"cannot read the age {value!r} (use now, never, or e.g. 2.weeks, 14d, 2h, 30m)") from None
            age = timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    else:
        raise InvalidAgeError(f"an age is a timedelta, a number of seconds or text, not {type(value).__name__}")
    if age < timedelta(0):
        raise InvalidAgeError(f"an age cannot be negative ({value!r})")
    return age
