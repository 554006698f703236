"""Stream a stack's events as progress lines until it settles (no waiter shows progress)."""

from __future__ import annotations

from jiti_deploy import interrupt

TERMINAL_SUFFIXES = ("_COMPLETE", "_FAILED")
STACK_TYPE = "AWS::CloudFormation::Stack"  # the type of a stack's own events


def _new_events(cfn, stack_id: str, seen: set[str]) -> list[dict]:
    """Events not printed yet, oldest first (the API lists newest first)."""
    fresh = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for event in page["StackEvents"]:
            if event["EventId"] in seen:
                return list(reversed(fresh))
            fresh.append(event)
    return list(reversed(fresh))


def existing_event_ids(cfn, stack_id: str) -> set[str]:
    """The newest event's id: following stops at it, so one call does whatever the history."""
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    return {events[0]["EventId"]} if events else set()


def line(event: dict) -> str:
    reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
    return f"  {event['ResourceStatus']:<28} {event['LogicalResourceId']:<32} {event['ResourceType']}{reason}"


def _ended(event: dict, stack_id: str) -> bool:
    """The stack's own event saying that an operation on it ended."""
    status = event["ResourceStatus"]
    return (
        event["ResourceType"] == "AWS::CloudFormation::Stack"
        and event.get("PhysicalResourceId") == stack_id
        and status.endswith(TERMINAL_SUFFIXES)
        and not status.endswith("_IN_PROGRESS")
    )


def follow(
    cfn, stack_id: str, seen: set[str], *, poll_s: float, log=print
) -> tuple[dict, list[dict]]:
    """Print events until a new event of the stack says the operation ended, and the stack
    shows that status; returns the stack as last described (its status and outputs, so no
    further read is needed) and the events seen. The first DescribeStacks after an operation
    starts may still show the previous operation's end, and an operation may last longer
    than any waiter: only the stack's own new event says it is over."""
    events: list[dict] = []
    ended = None
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = stack["StackStatus"]
        for event in _new_events(cfn, stack_id, seen):
            seen.add(event["EventId"])
            events.append(event)
            log(line(event))
            if _ended(event, stack_id):
                ended = event["ResourceStatus"]
        if ended is not None and status == ended:
            return stack, events
        if interrupt.sleep(poll_s):
            raise interrupt.Interrupted(
                f"{stack['StackName']}: interrupted while {status}: the operation carries on in "
                "CloudFormation, and the next run waits for it to end"
            )


def of_last(cfn, stack_id: str, started: str) -> list[dict]:
    """The events of the stack's last operation, newest first: every page back to the stack's
    own `started` event (e.g. CREATE_IN_PROGRESS), since DescribeStackEvents returns events in
    reverse chronological order, a page at a time (NextToken)."""
    found = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for event in page["StackEvents"]:
            if event["ResourceType"] == STACK_TYPE and event["ResourceStatus"] == started:
                return found
            found.append(event)
    return found
