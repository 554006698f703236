"""jiti's infrastructure library: building blocks for an app's CloudFormation stack."""

from jiti_infra.app import App, Asset
from jiti_infra.constructs.functions import Function, lambda_function
from jiti_infra.constructs.http_api import http_api
from jiti_infra.constructs.messaging import allow_send, queue, subscribe
from jiti_infra.constructs.schedules import schedule
from jiti_infra.constructs.storage import allow_table_read, allow_table_write, static_site, table

__all__ = [
    "App",
    "Asset",
    "Function",
    "allow_send",
    "allow_table_read",
    "allow_table_write",
    "http_api",
    "lambda_function",
    "queue",
    "schedule",
    "static_site",
    "subscribe",
    "table",
]
