"""`--mode plan`: what deploying these plans would do to the live stacks, found with read-only
calls (DescribeStacks, GetTemplate, DescribeType, SSM GetParameters) and no change set, so a
role that can change nothing can plan a pull request against the real accounts.

Each deployment's live template (as jiti sent it: `TemplateStage` Original) and parameters are
compared here with what the deploy would send (`plan_diff`), and its security-relevant changes
flagged (`plan_security`). Deployments are planned in dependency order, so a consumer of a
producer the same plan changes takes the producer's new output where it is known.

NoEcho values: the key they are hashed with is never read (a plan role holds no secret), so a
deployment with one cannot be shown as unchanged by its config hash alone, and a property built
from one may change (`Conditional`), its values hidden.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import ASSET_VERSION_PARAMETER_PREFIX, StackPlace
from jiti_deploy import aws_names, inputs, live, masking, plan_diff, plan_security, record, settings
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.batch import dependencies_in_run
from jiti_deploy.deployment import Deployment
from jiti_deploy.errors import DeployError
from jiti_deploy.schemas import Schemas

FORMAT = 1


def with_role(deployment: Deployment, template: str) -> Deployment:
    """The deployment, its stack and its producers' stacks read through the role `template`
    (`{region}` filled here, `{account}` where each is read)."""

    def place(p: StackPlace) -> StackPlace:
        return dataclasses.replace(p, assume_role=template.replace("{region}", p.region or ""))

    plan = deployment.plan
    items = tuple(
        dataclasses.replace(i, producer=place(i.producer)) if i.producer else i for i in plan.inputs
    )
    role = template.replace("{region}", plan.region or "")
    return dataclasses.replace(
        deployment, plan=dataclasses.replace(plan, assume_role=role, inputs=items)
    )


def levels(deployments: list[Deployment]) -> list[list[Deployment]]:
    """The deployments in rounds: each after every one it depends on in the run."""
    deps = dependencies_in_run(deployments)
    depth: dict[str, int] = {}

    def level(address: str) -> int:
        if address not in depth:
            depth[address] = 1 + max((level(d) for d in deps[address]), default=-1)
        return depth[address]

    rounds: dict[int, list[Deployment]] = {}
    for d in deployments:
        rounds.setdefault(level(d.address), []).append(d)
    return [rounds[n] for n in sorted(rounds)]


def _template(body) -> dict:
    return body if isinstance(body, dict) else json.loads(body or "{}")


def new_outputs(template: dict, parameters: dict) -> dict[str, str | None]:
    """The outputs a new template will have, with the values known before it is deployed (a
    literal, or a parameter's value); None where only the deploy will know."""
    found: dict[str, str | None] = {}
    for name, spec in (template.get("Outputs") or {}).items():
        value = spec.get("Value") if isinstance(spec, dict) else None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            found[name] = str(value)
        elif isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            found[name] = str(parameters[value["Ref"]])
        else:
            found[name] = None
    return found


@dataclasses.dataclass
class Planned:
    entry: dict
    outputs: dict  # the new outputs known before the deploy (None: not known)


class Planner:
    def __init__(self, destinations, deployments: list[Deployment], *, assume_role=None, log):
        if assume_role:
            deployments = [with_role(d, assume_role) for d in deployments]
        self.destinations, self.deployments, self.log = destinations, deployments, log
        self.stacks = live.LiveStacks(destinations)
        self.schemas = Schemas()
        self.planned: dict[str, Planned] = {}

    def run(self, max_parallel: int = 4) -> list[dict]:
        places = [d.place for d in self.deployments]
        places += [i.producer for d in self.deployments for i in d.plan.inputs if i.producer]
        self.stacks.read(places)
        with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
            for round_ in levels(self.deployments):
                for d, planned in zip(round_, pool.map(self.plan_one, round_)):
                    self.planned[d.address] = planned
        return [self.planned[d.address].entry for d in self.deployments]

    def plan_one(self, d: Deployment) -> Planned:
        try:
            return self._plan(d)
        except (DeployError, ClientError, BotoCoreError, ValueError) as e:
            message = masking.mask(f"{d.address}: {e}" if d.address not in str(e) else str(e))
            self.log(f"[{d.stack_name}] error: {message}")
            return Planned(self._entry(d, None, status="failed", error=message), {})

    def _entry(self, d: Deployment, destination, **fields) -> dict:
        return {
            "address": d.address,
            "stack": d.stack_name,
            "target": destination.kind if destination else None,
            "account": destination.account if destination else d.plan.account,
            "region": destination.region if destination else d.plan.region,
            "environment": d.plan.environment,
            "status": "failed",
            "live": None,
            "new_version": d.version,
            "changes": [],
            "pending_inputs": [],
            "broadening": [],
            "error": None,
            **fields,
        }

    def _plan(self, d: Deployment) -> Planned:
        destination = self.destinations.get(d.plan.account, d.plan.region, d.role_to_assume)
        if d.plan.stack_set:
            why = "a StackSet is not planned without a change set (deploy it with --dry-run)"
            return Planned(self._entry(d, destination, status="skipped", error=why), {})
        current = self.stacks.get(d.place)
        if current:
            live.check_owner(current, d.address, d.plan.app, d.plan.environment)
        d = self._with_inputs(d, destination)
        masking.add(d.secret_values)
        if d.has_secret_values:  # never the real key: see the module's docstring
            d = d.keyed(secrets.token_hex(32))
        parameters = self._parameters(d, destination, current)
        new = json.loads(record.template_text(d))  # as the deploy would send it
        entry = self._entry(d, destination, live=_live(current))
        entry["pending_inputs"] = [
            {"parameter": name, "reason": why} for name, why in sorted(d.pending.items())
        ]
        if current and current.deployed and not d.pending:
            if current.is_current(d.version, d.config_hash()):
                entry["status"] = "unchanged"
                return Planned(entry, {**current.outputs})
        old = {}
        if current and current.deployed:
            cfn = destination.client("cloudformation")
            body = cfn.get_template(
                StackName=current.stack_id or d.stack_name, TemplateStage="Original"
            )
            old = _template(body["TemplateBody"])
        entry["status"] = "changes" if current and current.deployed else "new"
        stacks = self._stacks(d, destination, current, old, new, parameters)
        entry["changes"] = self._changes(d, destination, current, stacks)
        entry["broadening"] = plan_security.flags(old, new)
        self._show(entry)
        kept = plan_diff.kept_outputs(stacks, entry["changes"], current.outputs if current else {})
        return Planned(entry, {**new_outputs(new, parameters), **kept})

    def _parameters(self, d: Deployment, destination, current) -> dict:
        """What the deploy would pass, the template's defaults for the rest. An asset whose
        content is the same keeps the object version it has (the parameter's name is the
        content's hash); a new one's version is known once the deploy uploads it."""
        values = {
            name: str(spec["Default"])
            for name, spec in d.manifest.parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }
        values.update(settings.parameters(d, AssetsBucket(destination).name, destination))
        live = current.parameters if current else {}
        for name in d.manifest.parameters:
            if name.startswith(ASSET_VERSION_PARAMETER_PREFIX):
                values[name] = live.get(name, plan_diff.UNKNOWN)
        return values

    @staticmethod
    def _stacks(d: Deployment, destination, current, old, new, parameters) -> plan_diff.Stacks:
        unknown = set(d.no_echo) | set(d.pending)
        old_parameters = current.parameters if current and current.deployed else {}
        pseudo = {  # what the stack's place decides, the same before and after
            "AWS::AccountId": destination.account,
            "AWS::Region": destination.region,
            "AWS::Partition": aws_names.partition(destination.session, destination.region),
        }
        return plan_diff.Stacks(
            old,
            new,
            {**pseudo, **{k: v for k, v in old_parameters.items() if k not in unknown}},
            {**pseudo, **{k: v for k, v in parameters.items() if k not in unknown}},
            unknown,
        )

    def _changes(self, d: Deployment, destination, current, stacks: plan_diff.Stacks) -> list:
        wanted = {k: str(v) for k, v in settings.tags(d).items()}
        tags_changed = bool(current and current.deployed and current.tags != wanted)
        found = plan_diff.compute(
            stacks, lambda kind: self.schemas.get(destination, kind), tags_changed=tags_changed
        )
        derived = masking.derived_properties(stacks.old_template, d.no_echo)
        derived |= masking.derived_properties(stacks.new_template, d.no_echo)
        return plan_diff.hide(found, derived, masking.MASK)

    def _with_inputs(self, d: Deployment, destination) -> Deployment:
        """The input values: a producer this plan changes gives its new output where that is
        known before its deploy, else the input is pending."""
        d = inputs.resolve(d, destination, self.stacks, dry_run=True)
        values, pending = dict(d.inputs), dict(d.pending)
        for item in d.plan.inputs:
            planned = self.planned.get(item.producer.address) if item.producer else None
            if planned is None or planned.entry["status"] == "unchanged":
                continue
            value = planned.outputs.get(item.output)
            if value is None:
                values.pop(item.parameter, None)
                pending[item.parameter] = (
                    f"{item.producer.address} changes in this plan; its output {item.output} "
                    "is known once it is deployed"
                )
            else:
                values[item.parameter] = value
                pending.pop(item.parameter, None)
        return d.with_inputs(values, pending)

    def _show(self, entry: dict) -> None:
        changes = entry["changes"]
        self.log(f"[{entry['stack']}] {entry['status']}: {len(changes)} resource changes")
        for c in changes:
            replacement = {"True": " (replacement)", "Conditional": " (may replace)"}
            extra = replacement.get(c["replacement"], "") if c["action"] == "Modify" else ""
            self.log(f"[{entry['stack']}]   {c['action']:<7} {c['logical_id']} {c['type']}{extra}")
        for flag in entry["broadening"]:
            self.log(f"[{entry['stack']}]   security: {flag['logical_id']}: {flag['detail']}")


def _live(current) -> dict | None:
    if current is None:
        return None
    return {
        "stack_id": current.stack_id,
        "last_updated": current.last_updated,
        "version": current.version,
        "status": current.status,
    }


def run(destinations, deployments, *, assume_role=None, max_parallel=4, log=print) -> list[dict]:
    """Each deployment's plan entry, in the order given."""
    return Planner(destinations, deployments, assume_role=assume_role, log=log).run(max_parallel)
