"""The deploy runtime starts fast: it imports neither troposphere nor the building blocks."""

from __future__ import annotations

import os
import subprocess
import sys

from jiti_deploy import __main__ as deploy_runtime  # noqa: F401 (in the sandbox for the test)


def test_the_deploy_runtime_starts_without_troposphere():
    code = "import sys, jiti_deploy.__main__; print(sorted({'troposphere', 'jiti_infra'} & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
