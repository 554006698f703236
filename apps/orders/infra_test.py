from apps.orders.infra import template
from jiti_infra.testing import resources_of_type, synthesize


def test_template_wires_queue_worker_and_table():
    t = synthesize(
        template,
        name="orders",
        address="apps/orders:stack",
        assets=("apps/orders:api-lambda", "apps/orders:worker-lambda"),
    )
    assert set(resources_of_type(t, "AWS::Lambda::Function")) == {"Intake", "Worker"}
    assert set(resources_of_type(t, "AWS::SQS::Queue")) == {
        "Orders",
        "OrdersDeadLetters",
    }
    assert t["Resources"]["OrdersTable"]["DeletionPolicy"] == "RetainExceptOnCreate"
    assert set(t["Outputs"]) == {"ApiUrl", "OrdersUrl", "OrdersTableName", "OrdersTableArn"}
