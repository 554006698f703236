"""`drift-stacks`: CloudFormation's drift detection on each selected deployment's stack, side
by side, and what drifted, property by property. Only reads: nothing is changed."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import StackPlace, is_no_echo
from jiti_deploy import hotswap_marks, interrupt, live, masking
from jiti_deploy.batch import PrefixedLog
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Outcome, Result, table

DRIFTED = ("MODIFIED", "DELETED")
WAIT_S = 900  # how long one detection may take


def _value(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _resource_drifts(cfn, stack_name: str) -> list[dict]:
    """The stack's drifted resources (DescribeStackResourceDrifts has no paginator)."""
    found, token = [], None
    while True:
        page = cfn.describe_stack_resource_drifts(
            StackName=stack_name,
            StackResourceDriftStatusFilters=list(DRIFTED),
            **({"NextToken": token} if token else {}),
        )
        for d in page["StackResourceDrifts"]:
            found.append(
                {
                    "logical_id": d["LogicalResourceId"],
                    "resource_type": d["ResourceType"],
                    "physical_id": d.get("PhysicalResourceId"),
                    "status": d["StackResourceDriftStatus"],
                    "properties": [
                        {
                            "path": p["PropertyPath"],
                            "expected": _value(p.get("ExpectedValue")),
                            "actual": _value(p.get("ActualValue")),
                            "difference": p["DifferenceType"],
                        }
                        for p in d.get("PropertyDifferences", [])
                    ],
                }
            )
        token = page.get("NextToken")
        if not token:
            return sorted(found, key=lambda d: d["logical_id"])


def detect(cfn, stack_name: str, *, poll_s: float) -> tuple[dict, list[dict]]:
    """Run drift detection on one stack; its final status and the drifted resources."""
    detection = cfn.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"]
    deadline = time.monotonic() + WAIT_S
    while True:
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            break
        if time.monotonic() > deadline:
            raise DeployError(
                f"{stack_name}: drift detection still running after {WAIT_S // 60} minutes"
            )
        if interrupt.sleep(poll_s):
            raise interrupt.Interrupted(f"{stack_name}: interrupted during drift detection")
    if status["DetectionStatus"] == "DETECTION_FAILED" and status.get("StackDriftStatus") in (
        None,
        "UNKNOWN",
    ):
        raise DeployError(
            f"{stack_name}: drift detection failed: {status.get('DetectionStatusReason', '?')}"
        )
    return status, _resource_drifts(cfn, stack_name)


def _without_secrets(cfn, stack_name: str, drifts: list[dict]) -> list[dict]:
    """The drifts with the values of each property the live template builds from a NoEcho
    parameter hidden (drift knows no secret values to mask: it builds nothing)."""
    body = cfn.get_template(StackName=stack_name)["TemplateBody"]
    try:
        template = body if isinstance(body, dict) else json.loads(body)
    except ValueError:
        template = None  # not JSON (not jiti's): hide every value
    no_echo = frozenset(
        name
        for name, spec in ((template or {}).get("Parameters") or {}).items()
        if is_no_echo(spec)
    )
    derived = masking.derived_properties(template or {}, no_echo)
    for d in drifts:
        for p in d["properties"]:
            if template is None or (d["logical_id"], p["path"].split("/")[1]) in derived:
                p["expected"] = p["expected"] and masking.MASK
                p["actual"] = p["actual"] and masking.MASK
    return drifts


def hotswapped(destination: Destination, stack_name: str, current: live.LiveStack) -> list[dict]:
    """The functions a hotswap changed since the stack's version was deployed (drift detection
    does not compare a function's code with its template), as drifted resources."""
    mark = hotswap_marks.read(destination, stack_name)
    if not mark or mark.get("stack_version") != current.version:
        return []  # none, or the stack was deployed again since
    expected = f"version {(current.version or 'none')[:12]}"
    actual = f"hotswapped to version {str(mark.get('version'))[:12]}"
    return [
        {
            "logical_id": lid,
            "resource_type": "AWS::Lambda::Function",
            "physical_id": name,
            "status": "HOTSWAPPED",
            "properties": [
                {"path": "/Code", "expected": expected, "actual": actual, "difference": "NOT_EQUAL"}
            ],
        }
        for lid, name in sorted((mark.get("functions") or {}).items())
    ] + [
        {
            "logical_id": output,
            "resource_type": "site content",
            "physical_id": current.outputs.get(output),
            "status": "HOTSWAPPED",
            "properties": [
                {"path": "/", "expected": expected, "actual": actual, "difference": "NOT_EQUAL"}
            ],
        }
        for output in mark.get("sites") or []
    ]


def check(destination: Destination, place: StackPlace, log) -> tuple[Result, str, list, str | None]:
    """One stack: (result, its live version, drifted resources, a note)."""
    if place.stack_set:
        return (
            Result.NOT_CHECKED,
            "-",
            [],
            "a StackSet: run `aws cloudformation detect-stack-set-drift`",
        )
    cfn = destination.client("cloudformation")
    current = live.describe(cfn, place.stack_name)
    if current is None:
        return Result.NOT_DEPLOYED, "none", [], None
    version = (current.version or "none")[:12]
    poll_s = 0.2 if destination.local else 3.0
    status, drifts = detect(cfn, place.stack_name, poll_s=poll_s)
    note = (
        status.get("DetectionStatusReason")
        if status["DetectionStatus"] == "DETECTION_FAILED"
        else None
    )
    if drifts:
        drifts = _without_secrets(cfn, place.stack_name, drifts)
    drifts += hotswapped(destination, place.stack_name, current)
    if drifts:
        log(f"{place.stack_name}: drifted ({len(drifts)} of its resources)")
        return Result.DRIFTED, version, drifts, note
    log(f"{place.stack_name}: in sync")
    return Result.IN_SYNC, version, [], note


def run(
    destinations: Destinations, places: tuple[StackPlace, ...], *, max_parallel: int, log=print
) -> list[Outcome]:
    lock = threading.Lock()

    def one(place: StackPlace) -> Outcome:
        started = time.monotonic()
        prefix = " ".join(filter(None, (place.stack_name, place.account, place.region)))
        plog = PrefixedLog(log, lock, prefix)
        target, account, region = "?", place.account or "?", place.region or "?"
        result, version, drifts, note, error = Result.FAILED, "?", [], None, None
        try:
            destination = destinations.of_place(place)
            target, account, region = destination.kind, destination.account, destination.region
            result, version, drifts, note = check(destination, place, plog)
        except interrupt.Interrupted as e:
            result, error = Result.INTERRUPTED, str(e)
        except (DeployError, ClientError, BotoCoreError) as e:
            error = str(e)
            plog(f"error: {e}")
        except Exception as e:  # noqa: BLE001 - one stack's failure is its own
            error = f"{type(e).__name__}: {e}"
            plog(f"error: {error}")
        return Outcome(
            place.address,
            place.stack_name,
            target,
            account,
            region,
            result,
            version,
            version,
            round(time.monotonic() - started, 2),
            error,
            reason=note,
            drift=drifts,
        )

    if interrupt.requested():
        return []
    with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
        return list(pool.map(one, places))


def summary(outcomes: list[Outcome], elapsed_s: float) -> str:
    """A row per stack, then each drifted resource and property under the table."""
    if not outcomes:
        return "no stacks checked"
    rows = [
        (
            o.stack,
            o.deployment,
            o.target,
            f"{o.account}/{o.region}",
            o.result.value,
            str(len(o.drift)) if o.drift else "-",
        )
        for o in outcomes
    ]
    lines = [
        table(
            ("stack", "deployment", "target", "account/region", "status", "drifted resources"), rows
        )
    ]
    for o in outcomes:
        for d in o.drift:
            lines.append(f"{o.stack}: {d['logical_id']} ({d['resource_type']}) {d['status']}")
            for p in d["properties"]:
                lines.append(
                    f"    {p['path']}: expected {p['expected']}, actual {p['actual']} ({p['difference']})"
                )
        if o.error:
            lines.append(f"{o.stack}: error: {o.error}")
    drifted = sum(o.result is Result.DRIFTED for o in outcomes)
    lines.append(f"stacks checked: {len(outcomes)} in {elapsed_s:.1f}s; drifted: {drifted}")
    return "\n".join(lines)
