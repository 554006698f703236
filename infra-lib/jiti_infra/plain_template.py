"""Reading a plain CloudFormation template (JSON or YAML, `!Ref`-style short forms included) as
CloudFormation reads it: a key twice in one mapping is refused (cfn-flip's loaders keep the
last one silently), and the sections jiti reads are checked to have the shape it expects, so
a mistake is one line naming the field, never a crash later."""

from __future__ import annotations

import json
from numbers import Number

from cfn_tools.yaml_loader import CfnYamlLoader

BOUNDS = ("MinValue", "MaxValue", "MinLength", "MaxLength")


class TemplateError(ValueError):
    """The template is not one CloudFormation would take; the message names where."""


def _unique(pairs: list) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise TemplateError(f"the key {key!r} appears twice in one mapping")
        seen.add(key)
    return dict(pairs)


class _UniqueKeyLoader(CfnYamlLoader):
    """cfn-flip's YAML loader (a SafeLoader with the short forms), refusing a key twice in one
    mapping."""

    def construct_mapping(self, node, deep=False):
        mapping = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in mapping:
                line = key_node.start_mark.line + 1
                raise TemplateError(f"line {line}: the key {key!r} appears twice in one mapping")
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_UniqueKeyLoader.add_constructor(
    "tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node)
)


def load(text: str):
    """The template in `text`: JSON if it parses as JSON, else YAML. A ValueError, on one
    line, says why it is neither (the JSON error for text that starts like JSON)."""
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except TemplateError:
        raise
    except ValueError as e:
        json_error = e
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    except TemplateError:
        raise
    except Exception as e:  # noqa: BLE001 - PyYAML's errors and the short forms' own
        if text.lstrip().startswith("{"):
            raise json_error from None
        raise ValueError(" ".join(str(e).split())) from None
    finally:
        loader.dispose()


def shape_problem(template: dict) -> str | None:
    """What is not the shape CloudFormation (and jiti) expects, as one line; None if fine."""
    for section, what in (
        ("Parameters", "a mapping of parameter names to declarations"),
        ("Resources", "a mapping of logical ids to resources"),
    ):
        value = template.get(section, {})
        if not isinstance(value, dict):
            return f"`{section}` is a {_kind(value)}: {what}"
    for name, spec in template.get("Parameters", {}).items():
        if not isinstance(spec, dict):
            return f"`Parameters.{name}` is a {_kind(spec)}: a mapping such as {{Type: String}}"
        for key in BOUNDS:
            if key in spec and not _is_number(spec[key]):
                return f"`Parameters.{name}.{key}` is {spec[key]!r}: a number"
    return None


def _kind(value) -> str:
    return "list" if isinstance(value, list) else type(value).__name__


def _is_number(value) -> bool:
    """A number, or text holding one (CloudFormation takes `MinValue: "1"` too)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, Number):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)
