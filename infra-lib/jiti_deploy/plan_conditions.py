"""A template's conditions, decided where the parameter values decide them, so that a plan
leaves out what a false condition leaves out, as CloudFormation does: a resource whose
`Condition` is false is not created (a change that makes it false deletes it), and `Fn::If`
takes one branch, `AWS::NoValue` removing the property ("Conditions", "Condition functions"
and "Pseudo parameters" in the CloudFormation User Guide)."""

from __future__ import annotations

from typing import Mapping

NO_VALUE = object()  # `{"Ref": "AWS::NoValue"}`: the property is left out


def evaluate(template: Mapping, parameters: Mapping[str, str]) -> dict[str, bool | None]:
    """Each condition's value; None where a value it needs is unknown (a NoEcho value, a
    pending input, a function this does not evaluate)."""
    specs = template.get("Conditions") or {}
    found: dict[str, bool | None] = {}

    def condition(name: str, seen: frozenset) -> bool | None:
        if name not in found:
            spec = specs.get(name)
            found[name] = None if spec is None or name in seen else _eval(spec, seen | {name})
        return found[name]

    def _eval(spec, seen: frozenset) -> bool | None:
        if not isinstance(spec, dict) or len(spec) != 1:
            return None
        ((function, args),) = spec.items()
        if function == "Condition" and isinstance(args, str):
            return condition(args, seen)
        if not isinstance(args, list):
            return None
        if function == "Fn::Equals" and len(args) == 2:
            a, b = (_scalar(arg, parameters) for arg in args)
            return None if a is None or b is None else a == b
        values = [_eval(arg, seen) for arg in args]
        if function == "Fn::Not" and len(values) == 1:
            return None if values[0] is None else not values[0]
        if function == "Fn::And":
            return False if False in values else (None if None in values else True)
        if function == "Fn::Or":
            return True if True in values else (None if None in values else False)
        return None

    for name in specs:
        condition(name, frozenset())
    return found


def _scalar(value, parameters: Mapping[str, str]) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        known = parameters.get(value["Ref"])
        return None if known is None else str(known)
    return None


def chosen(value, conditions: Mapping[str, bool | None]):
    """`value` with each `Fn::If` whose condition is known replaced by its branch, and each
    `AWS::NoValue` that leaves out a property or list item left out."""
    if isinstance(value, dict):
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        branch = value.get("Fn::If") if len(value) == 1 else None
        if isinstance(branch, list) and len(branch) == 3 and conditions.get(branch[0]) is not None:
            return chosen(branch[1] if conditions[branch[0]] else branch[2], conditions)
        kept = {k: chosen(v, conditions) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [v for v in (chosen(v, conditions) for v in value) if v is not NO_VALUE]
    return value


def present(resources: Mapping, conditions: Mapping[str, bool | None]) -> dict:
    """The resources a stack has: those whose `Condition` is not false."""
    return {
        lid: spec
        for lid, spec in resources.items()
        if not isinstance(spec, dict) or conditions.get(spec.get("Condition")) is not False
    }
