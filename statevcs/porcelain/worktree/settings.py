"""The settings in ``.statevcs/config.json`` read with their types checked, so a value of
the wrong type (a remote that is a number, say) is one NotARepositoryError naming the file,
the setting and the way out, never a TypeError deep inside a fetch.

Each reader checks only what its caller uses: a bad remote stops fetch and push, not
``status``, and ``remote remove`` (which reads the config raw) always works as the way out.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ...errors import NotARepositoryError
from ...store.paths import CONFIG_NAME


def read(meta_dir: str | None) -> dict[str, Any]:
    """The settings object in ``META_DIR/config.json`` (``{}`` without a directory or file)."""
    if not meta_dir:
        return {}
    path = os.path.join(meta_dir, CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        return {}
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
        raise NotARepositoryError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise NotARepositoryError(f"{path} is damaged: expected an object of settings")
    return config


def remotes(config: dict[str, Any], meta_dir: str | None) -> dict[str, str]:
    """Remote name -> location; each location a string."""
    path = os.path.join(meta_dir or "", CONFIG_NAME)
    found = config.get("remotes", {})
    if not isinstance(found, dict):
        raise NotARepositoryError(f'{path}: "remotes" must be an object of names and locations, not '
                                  f"{type(found).__name__}: fix it by hand (an empty {{}} forgets every remote)")
    for name, location in found.items():
        if not isinstance(location, str) or not location:
            raise NotARepositoryError(
                f"{path}: remote {name!r} is {location!r}, not a location (a path or URL): "
                f"run 'statevcs remote remove {name}' and 'statevcs remote add {name} LOCATION'")
    return dict(found)


def remote_key_file(config: dict[str, Any], meta_dir: str | None, name: str) -> str | None:
    """The key file recorded for remote ``name`` (``remote add --key-file``), or None."""
    path = os.path.join(meta_dir or "", CONFIG_NAME)
    files = config.get("remote_key_files", {})
    value = files.get(name) if isinstance(files, dict) else None
    if not isinstance(files, dict) or (value is not None and not isinstance(value, str)):
        raise NotARepositoryError(
            f'{path}: "remote_key_files" must map remote names to key file paths: run '
            f"'statevcs remote remove {name}' and 'statevcs remote add {name} LOCATION --key-file FILE'")
    return value or None


def working_file(config: dict[str, Any], meta_dir: str | None, default: str) -> str:
    """The working file's name (relative to the work directory)."""
    path = os.path.join(meta_dir or "", CONFIG_NAME)
    value = config.get("working_file", default)
    if not isinstance(value, str) or not value:
        raise NotARepositoryError(f'{path}: "working_file" is {value!r}, not a file name: set it to one '
                                  f'(such as "{default}") in that file')
    return value
