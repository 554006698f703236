"""StackSet updates reach the instances on the local AWS (fix 17 of `fidelity`).

moto's UpdateStackSet changes the StackSet and none of its instances' stacks (given accounts
and regions, it only overwrites their overrides with the StackSet's values); UpdateStackInstances
records overrides without updating the stacks; CreateStackInstances with overrides gives a stack
only the overridden values; and instances added after an update get the first template.

As CloudFormation does (API reference: UpdateStackSet, Accounts and Regions; CreateStackInstances
and UpdateStackInstances, ParameterOverrides), each instance's stack runs the StackSet's current
template with the StackSet's parameter values, except the ones the instance overrides, which
keep their override ("During StackSet updates, any parameter values overridden for a stack
instance aren't updated, but retain their overridden value"). An UpdateStackInstances without
ParameterOverrides is taken as one with an empty list (jiti always gives the list)."""

from __future__ import annotations

from moto.cloudformation import models


def _values(parameters) -> dict:
    """`{key: value}` of a parameter list (or of moto's dict of the StackSet's values)."""
    if isinstance(parameters, dict):
        return dict(parameters)
    return {
        p["ParameterKey"]: p["ParameterValue"] for p in parameters or [] if "ParameterValue" in p
    }


def _parameter_list(values: dict) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _targets(stack_set, accounts, regions) -> list:
    """The instances an operation acts on: all of them when it names no account and region."""
    return [
        i
        for i in stack_set.stack_instances
        if (not accounts or i.account_id in accounts) and (not regions or i.region_name in regions)
    ]


def _redeploy(stack_set, instance) -> None:
    """The instance's stack at the StackSet's template and values, its overrides kept."""
    instance.template = stack_set.template
    values = {**stack_set.parameters, **_values(instance.parameters)}
    instance.stack.update(stack_set.template, parameters=values)


def _update_the_instances(original):
    def update(self, *, accounts, regions, **kwargs):  # moto passes every argument by name
        operation = original(self, accounts=[], regions=[], **kwargs)
        # Instances created from now on get this template and these values.
        self.instances.template, self.instances.parameters = self.template, self.parameters
        targets = _targets(self, accounts, regions)
        for instance in targets:
            _redeploy(self, instance)
        operation["Instances"] = [{i.account_id: i.region_name} for i in targets]
        return operation

    return update


def _create_with_the_stack_set_values(original):
    def create_stack_instances(self, accounts, regions, deployment_targets, parameters):
        before = {id(i) for i in self.stack_instances}
        overrides = list(parameters or [])
        self.instances.template = self.template
        values = _parameter_list({**self.parameters, **_values(overrides)})
        operation_id = original(self, accounts, regions, deployment_targets, values)
        for instance in self.stack_instances:
            if id(instance) not in before:
                instance.parameters = overrides  # what DescribeStackInstance reports
        return operation_id

    return create_stack_instances


def _override(parameter: dict, previous: dict) -> dict:
    """An override as given, or its present value (`UsePreviousValue`)."""
    key = parameter["ParameterKey"]
    value = previous[key] if parameter.get("UsePreviousValue") else parameter["ParameterValue"]
    return {"ParameterKey": key, "ParameterValue": value}


def _update_the_stacks_of_the_instances(original):
    def update_instances(self, accounts, regions, parameters):
        previous = {id(i): _values(i.parameters) for i in self.stack_instances}
        operation = original(self, accounts, regions, parameters)  # checks each instance exists
        for instance in _targets(self, accounts, regions):
            kept = previous.get(id(instance), {})
            instance.parameters = [_override(p, kept) for p in parameters or []]
            _redeploy(self, instance)
        return operation

    return update_instances


def apply() -> None:
    stack_set = models.StackSet
    stack_set.update = _update_the_instances(stack_set.update)
    stack_set.create_stack_instances = _create_with_the_stack_set_values(
        stack_set.create_stack_instances
    )
    stack_set.update_instances = _update_the_stacks_of_the_instances(stack_set.update_instances)
