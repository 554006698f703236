"""SQS queues with a dead-letter queue, and Lambda workers subscribed to them."""

from __future__ import annotations

from troposphere import GetAtt, Ref, awslambda, sqs

from jiti_infra.app import App
from jiti_infra.constructs.functions import Function

SQS_KEY = "alias/aws/sqs"


def queue(
    app: App, name: str, *, max_receive_count: int = 5, visibility_timeout: int = 60
) -> sqs.Queue:
    """A queue whose failing messages move to `<name>DeadLetters` after `max_receive_count` tries.

    Both queues encrypt messages at rest with the account's AWS-managed SQS key, whose key
    policy lets the account's own roles use it through SQS, so functions need no extra grant
    (AWS services such as SNS cannot publish with it: they would need a customer-managed key).
    """
    dead_letters = app.add(
        sqs.Queue(
            f"{name}DeadLetters",
            QueueName=app.physical_name(f"{name}-dlq"),
            MessageRetentionPeriod=14 * 24 * 3600,
            KmsMasterKeyId=SQS_KEY,
        )
    )
    q = app.add(
        sqs.Queue(
            name,
            QueueName=app.physical_name(name),
            VisibilityTimeout=visibility_timeout,
            KmsMasterKeyId=SQS_KEY,
            RedrivePolicy=sqs.RedrivePolicy(
                deadLetterTargetArn=GetAtt(dead_letters, "Arn"),
                maxReceiveCount=max_receive_count,
            ),
        )
    )
    _tls_only(app, name, [q, dead_letters])
    app.output(f"{name}Url", Ref(q), f"URL of the {name} queue")
    return q


def _tls_only(app: App, name: str, queues: list[sqs.Queue]) -> sqs.QueuePolicy:
    """Refuse every request to the queues that does not come over TLS."""
    statement = {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [GetAtt(q, "Arn") for q in queues],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return app.add(
        sqs.QueuePolicy(
            f"{name}TlsOnly",
            Queues=[Ref(q) for q in queues],
            PolicyDocument={"Version": "2012-10-17", "Statement": [statement]},
        )
    )


def allow_send(fn: Function, q: sqs.Queue, env_var: str) -> None:
    """Let `fn` send to `q`, whose URL it finds in `env_var`."""
    fn.allow(["sqs:SendMessage"], [GetAtt(q, "Arn")])
    fn.set_env(env_var, Ref(q))


def subscribe(
    app: App, q: sqs.Queue, fn: Function, *, batch_size: int = 10
) -> awslambda.EventSourceMapping:
    """Deliver the queue's messages to `fn`, with exactly the permissions that needs."""
    fn.allow(
        [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ],
        [GetAtt(q, "Arn")],
    )
    return app.add(
        awslambda.EventSourceMapping(
            f"{q.title}To{fn.function.title}",
            EventSourceArn=GetAtt(q, "Arn"),
            FunctionName=Ref(fn.function),
            BatchSize=batch_size,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
    )
