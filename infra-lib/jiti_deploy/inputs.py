"""A deployment's inputs, looked up when it deploys, and the outputs its consumers rely on.

An input is an output of another deployment's stack, read from that stack with that
deployment's credentials (so it works across accounts and regions, without CloudFormation
exports), or a plain SSM Parameter Store value, read with the deployment's own. The values
become parameter values and part of the deployment's config hash, so it is redeployed exactly
when one changes. Secrets are never read: an SSM SecureString is refused, and the template refers
to secrets with CloudFormation dynamic references (`{{resolve:ssm-secure:...}}`,
`{{resolve:secretsmanager:...}}`), which CloudFormation resolves itself.
"""

from __future__ import annotations

import json

from jiti_contract import Input
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.live import LiveStack, LiveStacks

NO_ECHO_SHOWN = "**** (NoEcho)"
SSM_BATCH = 10  # GetParameters takes at most 10 names


def resolve(
    deployment: Deployment, destination: Destination, stacks: LiveStacks, *, dry_run: bool
) -> Deployment:
    """The deployment with its input values. A value that does not exist yet (its producer is
    not deployed, or lacks the output) is an error, except in a dry run, which shows it as
    pending."""
    if not deployment.plan.inputs:
        return deployment
    values: dict[str, str] = {}
    pending: dict[str, str] = {}
    for item in deployment.plan.inputs:
        if item.producer is None:
            continue
        stack = stacks.get(item.producer)
        value, missing = _output_value(item, stack)
        if missing is None:
            values[item.parameter] = value
        elif dry_run:
            pending[item.parameter] = missing
        else:
            raise DeployError(
                f"{deployment.address}: input {item.parameter} ({item.source}): {missing}; deploy "
                f"{item.producer.address} first (`pants deploy-stacks` deploys it before "
                f"{deployment.address} when both are selected)"
            )
    ssm = [item for item in deployment.plan.inputs if item.ssm_parameter is not None]
    if ssm:
        values.update(_ssm_values(deployment, destination, ssm))
    return deployment.with_inputs(values, pending)


def _output_value(item: Input, stack: LiveStack | None) -> tuple[str, str | None]:
    """The output's value, or why there is none yet."""
    producer = item.producer
    where = f"stack {producer.stack_name} in {producer.where}"
    if stack is None or not stack.deployed:
        state = f", it is {stack.status}" if stack else ""
        return "", f"{producer.address} is not deployed yet ({where}{state})"
    if item.output not in stack.outputs:
        known = ", ".join(sorted(stack.outputs)) or "none"
        return "", f"the live {where} has no output {item.output} (its outputs: {known})"
    return stack.outputs[item.output], None


def _ssm_values(deployment: Deployment, destination: Destination, items: list[Input]) -> dict:
    """Plain SSM parameters, read in the deployment's own account and region."""
    names = {
        item.parameter: deployment.expand(
            item.ssm_parameter, destination.account, destination.region
        )
        for item in items
    }
    ssm = destination.client("ssm")
    found: dict[str, dict] = {}
    wanted = sorted(set(names.values()))
    for start in range(0, len(wanted), SSM_BATCH):
        response = ssm.get_parameters(Names=wanted[start : start + SSM_BATCH])
        for parameter in response["Parameters"]:
            found[parameter["Name"] + parameter.get("Selector", "")] = parameter
    values = {}
    for name, path in sorted(names.items()):
        parameter = found.get(path)
        where = f"{destination.account}/{destination.region}"
        if parameter is None:
            raise DeployError(
                f"{deployment.address}: input {name}: the SSM parameter {path} does not exist in "
                f"{where}"
            )
        if parameter["Type"] == "SecureString":
            raise DeployError(
                f"{deployment.address}: input {name}: the SSM parameter {path} is a SecureString, "
                "and jiti never reads secrets: refer to it in the template instead, as "
                f"`{{{{resolve:ssm-secure:{path}}}}}`, which CloudFormation resolves itself"
            )
        values[name] = parameter["Value"]
    return values


def show(deployment: Deployment, log) -> None:
    """Each input's value (NoEcho ones hidden) and where it comes from."""
    for item in deployment.plan.inputs:
        name = item.parameter
        if name in deployment.pending:
            shown = f"(pending: {deployment.pending[name]})"
        elif name in deployment.no_echo:
            shown = NO_ECHO_SHOWN
        else:
            shown = deployment.inputs.get(name, "?")
        log(f"  input {name} = {shown}  <- {item.source}")


def check_consumers(deployment: Deployment, stacks: LiveStacks) -> None:
    """Refuse, before anything is written, a template that drops an output a live deployment
    still takes as an input: that deployment could not be deployed again, and would keep a
    value nothing maintains."""
    if not deployment.plan.consumers:
        return
    outputs = set(json.loads(deployment.template_path.read_text()).get("Outputs", {}))
    users = [(c, sorted(set(c.outputs) - outputs)) for c in deployment.plan.consumers]
    users = [(c, missing) for c, missing in users if missing]
    live = [(c, missing) for c, missing in users if (s := stacks.get(c.place)) and s.deployed]
    if not live:
        return
    lines = [
        f"{deployment.address}: the new template of {deployment.stack_name} has no output "
        f"{', '.join(sorted({o for _, missing in live for o in missing}))}, which live deployments "
        "take as inputs:"
    ]
    lines += [
        f"  {c.place.address} (stack {c.place.stack_name} in {c.place.where}) takes "
        f"{', '.join(missing)}"
        for c, missing in live
    ]
    lines.append(
        f"Deploy them without those inputs first, then {deployment.address}; nothing was changed"
    )
    raise DeployError("\n".join(lines))
