"""reports' infrastructure: a function run on a schedule, reading the orders app's table."""

from troposphere import Ref

from jiti_infra import App, allow_table_read, lambda_function, schedule


def template(app: App):
    # Set by the deployments' `inputs`, from the orders app's stack outputs.
    table_arn = app.input("OrdersTableArn", description="ARN of the orders app's table.")
    table_name = app.input("OrdersTableName", description="Name of the orders app's table.")
    every = app.parameter(
        "ReportSchedule",
        default="rate(1 day)",
        description="When the report runs (an EventBridge schedule expression).",
    )
    report = lambda_function(app, "Report", asset=app.asset(":lambda"), timeout=60)
    allow_table_read(report, arn=Ref(table_arn), name=Ref(table_name), env_var="ORDERS_TABLE")
    schedule(app, "Schedule", report, expression=Ref(every))
    return app.template
