"""jiti's infrastructure library: building blocks for an app's CloudFormation stack.

The names below load on first use: the deploy runtime (`jiti_infra.deploy`) lives in this
package too and starts once per deployment, without needing troposphere.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers, and how Pants sees what this package depends on
    from jiti_infra.app import App, Asset  # noqa: F401
    from jiti_infra.constructs.functions import Function, lambda_function  # noqa: F401
    from jiti_infra.constructs.http_api import http_api  # noqa: F401
    from jiti_infra.constructs.messaging import allow_send, queue, subscribe  # noqa: F401
    from jiti_infra.constructs.storage import allow_table_write, static_site, table  # noqa: F401

_MODULES = {
    "App": "jiti_infra.app",
    "Asset": "jiti_infra.app",
    "Function": "jiti_infra.constructs.functions",
    "lambda_function": "jiti_infra.constructs.functions",
    "http_api": "jiti_infra.constructs.http_api",
    "allow_send": "jiti_infra.constructs.messaging",
    "queue": "jiti_infra.constructs.messaging",
    "subscribe": "jiti_infra.constructs.messaging",
    "allow_table_write": "jiti_infra.constructs.storage",
    "static_site": "jiti_infra.constructs.storage",
    "table": "jiti_infra.constructs.storage",
}
__all__ = sorted(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'jiti_infra' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value
