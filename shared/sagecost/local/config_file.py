"""Reading the config file (YAML or JSON) with errors that point at the line to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sagecost.models.config import SagecostConfig


class ConfigError(ValueError):
    """The config file cannot be used; `problems` says where and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The deepest YAML node on the path pydantic reports (the key's node when the value is missing)."""
    found = node
    for part in loc:
        if isinstance(found, yaml.MappingNode):
            match = next(((k, v) for k, v in found.value if k.value == str(part)), None)
            if match is None:
                return found
            found = match[1]
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int) and part < len(found.value):
            found = found.value[part]
        else:
            return found
    return found


def parse_config(text: str, *, where: str = "<config>") -> SagecostConfig:
    """Validate a config text; raise ConfigError with `where:line: path: problem` lines."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            [f"{where}{line}: not valid YAML or JSON: {getattr(error, 'problem', error)}"]
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}:1: the config is a mapping of settings, not a {type(raw).__name__}"])
    try:
        return SagecostConfig.model_validate(raw)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False):
            loc = tuple(issue["loc"])
            node = _node_at(root, loc)
            line_number = node.start_mark.line + 1 if node is not None else 1
            path = ".".join(str(part) for part in loc) or "(top level)"
            problems.append(f"{where}:{line_number}: {path}: {issue['msg']}")
        raise ConfigError(problems) from None


def load_config_file(path: Path) -> SagecostConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read it: {error.strerror}"]) from None
    return parse_config(text, where=str(path))


def config_schema() -> str:
    """The config file's JSON Schema, for editors (YAML language servers read it too)."""
    schema = SagecostConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sagecost configuration"
    return json.dumps(schema, indent=2, sort_keys=True)
