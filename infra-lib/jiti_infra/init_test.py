"""The package's public names load on first use, so the deploy runtime starts without
troposphere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import jiti_infra
from jiti_infra.deploy import __main__ as deploy_runtime  # noqa: F401 (in the sandbox for the test)


@pytest.mark.parametrize("name", jiti_infra.__all__)
def test_every_public_name_loads(name):
    assert getattr(jiti_infra, name).__name__ == name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jiti_infra.nope  # noqa: B018


def test_the_deploy_runtime_starts_without_troposphere():
    code = "import sys, jiti_infra.deploy.__main__; print('troposphere' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
