"""The one YAML loader of the platform (catalogs, configs, rule files): safe tags only, no anchors
or aliases (an alias bomb expands to gigabytes from a few lines), no duplicate keys (a silent
overwrite hides a mistake), a size cap, and errors that name the file and never echo unbounded
input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from platform_assets.lib.errors import PlatformError, clip

MAX_YAML_BYTES = 16 * 1024 * 1024


class YamlError(PlatformError):
    """A YAML file cannot be read, is not valid YAML or uses a refused construct."""


class _Refused(yaml.YAMLError):
    pass


def _line(node_or_event: Any) -> str:
    mark = getattr(node_or_event, "start_mark", None)
    return f"line {mark.line + 1}: " if mark is not None else ""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and duplicate mapping keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(f"{_line(event)}YAML anchors and aliases (& and *) are not allowed; repeat the value instead")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeLoader reports it below
                    continue
                if duplicate:
                    raise _Refused(f"{_line(key_node)}duplicate key {clip(key, 80)}")
        return super().construct_mapping(node, deep=deep)


def _message(error: yaml.YAMLError) -> str:
    if isinstance(error, _Refused):
        return str(error)
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    where = f"line {mark.line + 1} " if mark is not None else ""
    return f"{where}invalid YAML: {clip(problem, 200)[1:-1] if len(problem) > 150 else problem}"


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; YamlError names `source` (the file) and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: {_message(error)}") from None


def load_yaml_file(path: str | Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Read and parse a UTF-8 YAML file of at most `max_bytes`; YamlError names the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlError(f"{path}: {size} bytes, over the {max_bytes} bytes limit of a YAML file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise YamlError(f"{path}: cannot read: {clip(str(error), 200)}") from None
    return parse_yaml(text, str(path))
