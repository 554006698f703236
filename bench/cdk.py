"""The AWS CDK equivalent of a generated monorepo's stacks, for `cdk synth` timings.

Each app becomes a CDK stack with what jiti's `lambda_function` makes: a Python function from
the app's directory, its log group and role. The CDK comes from npm, installed once into a
cache directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench.stats import run

PACKAGES = ("aws-cdk-lib@2", "constructs@10", "aws-cdk@2")

APP = """\
const cdk = require("aws-cdk-lib");
const lambda = require("aws-cdk-lib/aws-lambda");
const logs = require("aws-cdk-lib/aws-logs");

const app = new cdk.App();
for (let i = 0; i < APPS; i++) {
  const name = "svc" + String(i).padStart(3, "0");
  const stack = new cdk.Stack(app, name + "-dev");
  const fn = new lambda.Function(stack, "Handler", {
    functionName: name + "-dev-handler",
    runtime: lambda.Runtime.PYTHON_3_11,
    handler: "handler.handle",
    code: lambda.Code.fromAsset(ROOT + "/apps/" + name),
    memorySize: 128,
  });
  new logs.LogGroup(stack, "HandlerLogs", {
    logGroupName: "/aws/lambda/" + name + "-dev-handler",
    retention: logs.RetentionDays.TWO_WEEKS,
  });
}
app.synth();
"""


def install(cache: Path, log) -> Path | None:
    """The `cdk` command, installed from npm into `cache` if needed; None without npm."""
    cdk = cache / "node_modules/.bin/cdk"
    if cdk.exists():
        return cdk
    if not shutil.which("npm"):
        return None
    log(f"installing {', '.join(PACKAGES)} from npm into {cache}")
    cache.mkdir(parents=True, exist_ok=True)
    run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES], cwd=cache)
    return cdk


def write_app(work: Path, repo_root: Path, apps: int) -> Path:
    """The CDK app for `apps` apps of the repository at `repo_root`, written outside it."""
    app = work / f"cdk-app-{apps}.js"
    app.write_text(APP.replace("APPS", str(apps)).replace("ROOT", json.dumps(str(repo_root))))
    return app


def synth(cdk: Path, app: Path) -> None:
    env = {
        **os.environ,
        "NODE_PATH": str(cdk.parent.parent),  # where the app finds aws-cdk-lib
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    out = app.with_suffix(".out")
    shutil.rmtree(out, ignore_errors=True)  # each synth from scratch, as in CI
    command = [str(cdk), "synth", "--quiet", "--no-notices", "--no-version-reporting"]
    run([*command, "--app", f"node {app}", "--output", str(out)], cwd=app.parent, env=env)
