"""What a deployment acknowledges to CloudFormation, against the local AWS, as sent.

CreateStack and UpdateStack API references, `Capabilities`: a template containing macros needs
CAPABILITY_AUTO_EXPAND, "this includes the AWS::Include and AWS::Serverless transforms, which
are macros hosted by CloudFormation"; on CreateChangeSet it "has no effect" (CreateChangeSet API
reference), so sending it there is harmless. (moto checks no capability: the test reads what
jiti sends.)
"""

from __future__ import annotations

from jiti_deploy import runner
from jiti_deploy.testutil import quiet

QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
SAM = "AWS::Serverless-2016-10-31"


def sent_capabilities(destination) -> list[tuple[str, list]]:
    """(operation, Capabilities) of every CreateChangeSet and UpdateStack from now on."""
    sent: list[tuple[str, list]] = []

    def record(params, event_name, **_):
        sent.append((event_name.rsplit(".", 1)[1], params.get("Capabilities")))

    events = destination.client("cloudformation").meta.events
    for operation in ("CreateChangeSet", "UpdateStack"):
        events.register(f"provide-client-params.cloudformation.{operation}", record)
    return sent


def test_a_template_with_a_transform_is_deployed_with_auto_expand(destination, make):
    """A deployment whose `capabilities` leave CAPABILITY_AUTO_EXPAND out still sends it for a
    template with a transform (writing the transform acknowledges its expansion), on the change
    set and on the update that applies a template without resource changes; a template
    without one gets only what it needs (a queue: nothing), whatever the deployment allows."""
    sent = sent_capabilities(destination)
    iam = ("CAPABILITY_IAM",)
    template = {"Transform": SAM, "Resources": QUEUE}
    for force in (False, True):  # forced again: no changes, so the template goes by UpdateStack
        deployment = make("xform", template, capabilities=iam)
        runner.deploy(destination, deployment, force=force, log=quiet)
    runner.deploy(destination, make("no-xform", {"Resources": QUEUE}, capabilities=iam), log=quiet)
    expanded = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    assert sent == [
        ("CreateChangeSet", expanded),
        ("CreateChangeSet", expanded),
        ("UpdateStack", expanded),
        ("CreateChangeSet", []),
    ]
