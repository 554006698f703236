"""Functions run on a schedule: an EventBridge rule, and the one permission it needs."""

from __future__ import annotations

from troposphere import GetAtt, Ref, awslambda, events

from jiti_infra.app import App
from jiti_infra.constructs.functions import Function


def schedule(app: App, name: str, fn: Function, *, expression) -> events.Rule:
    """Run `fn` on `expression` (`rate(1 hour)`, `cron(0 6 * * ? *)`, or a parameter's Ref)."""
    rule = app.add(
        events.Rule(
            name,
            Name=app.physical_name(name),
            ScheduleExpression=expression,
            State="ENABLED",
            Targets=[events.Target(Id=fn.function.title, Arn=fn.arn)],
        )
    )
    app.add(
        awslambda.Permission(
            f"{name}Invokes{fn.function.title}",
            FunctionName=Ref(fn.function),
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
        )
    )
    return rule
