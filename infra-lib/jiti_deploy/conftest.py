"""The local AWS for the runtime's tests: a moto server with jiti's fidelity fixes, in this
process, and packaged stacks as the build writes them."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest
from moto.server import ThreadedMotoServer

from jiti_contract import Asset, Manifest, Plan
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.local_aws import CREDENTIALS, fidelity

REGION = "us-east-1"


@pytest.fixture(scope="session")
def endpoint():
    fidelity.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def destination(endpoint) -> Destination:
    return Destination(boto3.Session(region_name=REGION, **CREDENTIALS), endpoint, local=True)


@pytest.fixture
def make(tmp_path):
    """A packaged stack and its plan, as the build writes them."""

    def make(
        name: str,
        template: dict,
        files: dict[str, bytes] | None = None,
        *,
        address: str | None = None,
        source=None,
        **plan,
    ) -> Deployment:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        text = json.dumps(template, sort_keys=True, indent=2) + "\n"
        (directory / "stack.template.json").write_text(text)
        found = []
        for asset_address, content in (files or {}).items():
            sha = hashlib.sha256(content).hexdigest()
            (directory / f"{sha}.zip").write_bytes(content)
            found.append(Asset(asset_address, sha, len(content), f"assets/{sha}.zip", f"{sha}.zip"))
        manifest = Manifest(
            address=f"apps/{name}:stack",
            app=name,
            version=hashlib.sha256(text.encode() + repr(found).encode()).hexdigest(),
            template="stack.template.json",
            template_sha256=hashlib.sha256(text.encode()).hexdigest(),
            assets=tuple(found),
            parameters=template.get("Parameters", {}),
            tags={},
            description=None,
        )
        (directory / "stack.manifest.json").write_text(manifest.to_json())
        plan = Plan(
            address=address or f"apps/{name}:deploy",
            name="deploy",
            app=name,
            stack_name=f"{name}-dev",
            environment="dev",
            manifest=f"{name}/stack.manifest.json",
            **plan,
        )
        return Deployment(plan, manifest, directory / "stack.manifest.json", source=source)

    return make
