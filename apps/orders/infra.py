"""orders' infrastructure: API -> queue (with dead letters) -> worker -> table."""

from jiti_infra import (
    App,
    allow_send,
    allow_table_write,
    http_api,
    lambda_function,
    queue,
    subscribe,
    table,
)


def template(app: App):
    orders = queue(app, "Orders", max_receive_count=5)
    store = table(app, "OrdersTable", partition_key="id")
    intake = lambda_function(app, "Intake", asset=app.asset(":api-lambda"))
    worker = lambda_function(app, "Worker", asset=app.asset(":worker-lambda"), timeout=30)
    allow_send(intake, orders, "QUEUE_URL")
    subscribe(app, orders, worker)
    allow_table_write(worker, store, "TABLE_NAME")
    http_api(app, "Api", routes={"POST /orders": intake})
    return app.template
