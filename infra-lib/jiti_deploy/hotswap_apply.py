"""Make a hotswap (`hotswap.Swap`): each function's new code from the assets bucket, then its
environment, each waited for until Lambda says the update succeeded; the site's changed files
only. And the mark (`hotswap_marks`), since the stack still describes the old version."""

from __future__ import annotations

import base64
import io
import json
import mimetypes
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError, WaiterError

from jiti_deploy import hotswap, hotswap_marks
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.hotswap import FUNCTION, Swap

WAITER = "function_updated_v2"  # LastUpdateStatus Successful (Failed ends it)
SUCCESSFUL = "Successful"


def functions(cfn, stack_name: str) -> dict[str, str]:
    """The stack's Lambda functions: logical id -> function name (physical id)."""
    found = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for r in page["StackResourceSummaries"]:
            if r["ResourceType"] == FUNCTION and r.get("PhysicalResourceId"):
                found[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    return found


@dataclass(frozen=True)
class Prepared:
    """What a hotswap reads and stages besides the live template, while that is read: each
    asset in the bucket (by key, the S3 version checked to hold its bytes), and the stack's
    functions. Both are what the deploy through CloudFormation would do, or cheap, if the
    template then shows the stack is not hotswappable."""

    versions: Future
    names: Future

    def result(self) -> tuple[dict, dict[str, str]]:
        return self.versions.result(), self.names.result()


def prepare(pool, destination: Destination, deployment: Deployment, log) -> Prepared:
    """Start, in `pool`, what `apply` needs from AWS besides the live template."""
    bucket, cfn = AssetsBucket(destination), destination.client("cloudformation")

    def staged() -> dict:
        bucket.ensure(log=log)
        return bucket.upload(deployment, log=log)

    def clients() -> None:  # made meanwhile: each costs more CPU than a call's wait
        for service in ("lambda", "ssm"):
            destination.client(service)

    pool.submit(clients)
    return Prepared(pool.submit(staged), pool.submit(functions, cfn, deployment.stack_name))


def _wait(lam, name: str, poll_s: float) -> None:
    delay = max(1, int(poll_s))
    lam.get_waiter(WAITER).wait(FunctionName=name, WaiterConfig={"Delay": delay})


def update_code(lam, name: str, bucket: AssetsBucket, asset, version: str | None, poll_s) -> None:
    """The function's code from the asset's object (its checked S3 version), confirmed by
    Lambda's SHA-256 of what it now runs."""
    pinned = {"S3ObjectVersion": version} if version else {}
    answer = lam.update_function_code(
        FunctionName=name, S3Bucket=bucket.name, S3Key=asset.key, **pinned
    )
    if answer.get("CodeSha256") != _b64(asset.sha256):
        raise DeployError(
            f"{name}: Lambda runs code with SHA-256 {answer.get('CodeSha256')}, not {asset.address}"
        )
    if answer.get("LastUpdateStatus") != SUCCESSFUL:  # already what the waiter waits for
        _wait(lam, name, poll_s)


def _changed_files(s3, bucket: AssetsBucket, old_key: str | None, new_path) -> dict[str, bytes]:
    """The new archive's files that the old one lacks or holds other bytes for."""
    old: dict[str, bytes] = {}
    if old_key and bucket.exists(old_key):
        body = s3.get_object(
            Bucket=bucket.name, Key=old_key, ExpectedBucketOwner=bucket.destination.account
        )["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            old = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    with zipfile.ZipFile(new_path) as archive:
        new = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    return {n: content for n, content in new.items() if old.get(n) != content}


def publish_changes(destination: Destination, deployment: Deployment, swap: Swap, outputs, log):
    """Put the site files that changed into each site bucket the stack names."""
    s3, bucket = destination.client("s3"), AssetsBucket(destination)
    by_key = {a.key: a for a in deployment.manifest.assets}
    for output, (old_key, new_key) in sorted(swap.site.items()):
        site = outputs.get(output)
        if not site:
            raise DeployError(
                f"output {output} (the site bucket) is missing from {deployment.stack_name}"
            )
        changed = _changed_files(s3, bucket, old_key, deployment.asset_path(by_key[new_key]))
        for name, content in sorted(changed.items()):
            s3.put_object(
                Bucket=site,
                Key=name,
                Body=content,
                ContentType=mimetypes.guess_type(name)[0] or "application/octet-stream",
                ExpectedBucketOwner=destination.account,
            )
        log(f"{deployment.stack_name}: site s3://{site}: {len(changed)} changed files put")


def apply(
    destination: Destination,
    deployment: Deployment,
    current,
    swap: Swap,
    log,
    *,
    poll_s,
    marks_dir,
    prepared: Prepared,
):
    """Mark the stack as hotswapped (this machine's mark before anything changes, so that a
    run stopped halfway still leaves it; the stack's own while the changes are made), then
    change what `swap` says directly."""
    versions, names = prepared.result()
    lids = sorted(set(swap.code) | set(swap.environment))
    touched = {lid: names[lid] for lid in lids if lid in names}
    mark = hotswap_marks.of(destination, deployment, current, touched, swap)
    hotswap_marks.put_local(marks_dir, deployment, destination, mark)
    with ThreadPoolExecutor(1) as pool:
        marked = pool.submit(hotswap_marks.put, destination, deployment, mark)
        try:
            _change(destination, deployment, swap, names, versions, log, poll_s)
            publish_changes(destination, deployment, swap, current.outputs, log)
        except (ClientError, WaiterError, KeyError) as e:
            raise DeployError(
                f"{deployment.stack_name}: hotswap failed ({e}); the stack still describes "
                f"version {(current.version or 'none')[:12]}: deploy without --jiti-hotswap"
            ) from None
        finally:
            marked.result()


def _change(destination, deployment: Deployment, swap: Swap, names, versions, log, poll_s):
    """Each function's new code, then its environment, each waited for."""
    bucket, lam = AssetsBucket(destination), destination.client("lambda")
    by_key = {a.key: a for a in deployment.manifest.assets}
    for lid in sorted(set(swap.code) | set(swap.environment)):
        name = names[lid]
        if lid in swap.code:
            key = swap.code[lid]
            update_code(lam, name, bucket, by_key[key], versions.get(key), poll_s)
            log(f"{deployment.stack_name}: {lid} ({name}): code updated to {key}")
        if lid in swap.environment:
            variables = swap.environment[lid]
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": variables}
            )
            _wait(lam, name, poll_s)
            log(f"{deployment.stack_name}: {lid} ({name}): environment updated")


def reconcile(
    destination: Destination, deployment: Deployment, mark: dict, log, *, poll_s, marks_dir
):
    """After a normal deploy of a stack this machine hotswapped: each hotswapped function runs
    what the template says (a template CloudFormation found unchanged left the hotswapped code
    in place), then the marks are cleared."""
    template = json.loads(deployment.template_path.read_text())
    _, found = hotswap.normalized(template)
    bucket, lam = AssetsBucket(destination), destination.client("lambda")
    names = functions(destination.client("cloudformation"), deployment.stack_name)
    by_key = {a.key: a for a in deployment.manifest.assets}
    for lid in sorted(set(mark.get("functions", {})) & set(names)):
        name, config = names[lid], lam.get_function_configuration(FunctionName=names[lid])
        key = found["code"].get(lid)
        if key and config.get("CodeSha256") != _b64(by_key[key].sha256):
            _, version = bucket.stored_version(key, by_key[key].sha256)
            update_code(lam, name, bucket, by_key[key], version, poll_s)
            log(f"{deployment.stack_name}: {lid} ({name}): code put back to {key}")
        variables = found["environment"].get(lid)
        if (
            variables is not None
            and (config.get("Environment") or {}).get("Variables", {}) != variables
        ):
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": variables}
            )
            _wait(lam, name, poll_s)
            log(f"{deployment.stack_name}: {lid} ({name}): environment put back")
    hotswap_marks.clear(destination, deployment, marks_dir)


def _b64(sha256_hex: str) -> str:
    """A SHA-256 as Lambda gives it (`CodeSha256`: base64 of the digest)."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()
