from jiti_infra.constructs.functions import lambda_function
from jiti_infra.constructs.messaging import allow_send, queue, subscribe
from jiti_infra.testing import lint_errors, resources_of_type, synthesize


def build(app):
    q = queue(app, "Orders", max_receive_count=3)
    producer = lambda_function(app, "Api", asset=app.asset(":lambda"))
    worker = lambda_function(app, "Worker", asset=app.asset(":lambda"))
    allow_send(producer, q, "QUEUE_URL")
    subscribe(app, q, worker, batch_size=5)
    return app.template


def test_queue_with_dead_letters_and_worker():
    t = synthesize(build, name="orders", assets=("apps/app:lambda",))
    assert lint_errors(t) == []
    q = t["Resources"]["Orders"]["Properties"]
    assert q["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadLetters", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert q["QueueName"] == {"Fn::Sub": "orders-${Environment}-Orders"}
    mapping = t["Resources"]["OrdersToWorker"]["Properties"]
    assert mapping["BatchSize"] == 5 and mapping["FunctionName"] == {"Ref": "Worker"}
    assert t["Outputs"]["OrdersUrl"]["Value"] == {"Ref": "Orders"}
    # Messages are encrypted at rest, dead letters too.
    for logical_id in ("Orders", "OrdersDeadLetters"):
        assert t["Resources"][logical_id]["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"


def test_each_function_gets_only_its_own_queue_permissions():
    t = synthesize(build, name="orders", assets=("apps/app:lambda",))

    def actions(role):
        doc = t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
        return {a for s in doc["Statement"] for a in s["Action"]}

    assert "sqs:SendMessage" in actions("ApiRole") and "sqs:ReceiveMessage" not in actions(
        "ApiRole"
    )
    assert "sqs:ReceiveMessage" in actions("WorkerRole") and "sqs:SendMessage" not in actions(
        "WorkerRole"
    )
    assert t["Resources"]["Api"]["Properties"]["Environment"]["Variables"]["QUEUE_URL"] == {
        "Ref": "Orders"
    }


def test_queues_refuse_requests_not_made_over_tls():
    """Both queues get a policy denying every SQS action to a request without TLS."""
    t = synthesize(build, name="orders", assets=("apps/app:lambda",))
    (policy,) = resources_of_type(t, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": "Orders"}, {"Ref": "OrdersDeadLetters"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [
            {"Fn::GetAtt": ["Orders", "Arn"]},
            {"Fn::GetAtt": ["OrdersDeadLetters", "Arn"]},
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
