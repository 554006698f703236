"""The AWS CDK side of the benchmarks: `cdk synth` of a generated monorepo's stacks, and
`cdk diff` of jiti's packaged templates against the deployed stacks.

For `cdk synth`, each app becomes a CDK stack with what jiti's `lambda_function` makes: a
Python function from the app's directory, its log group and role. For `cdk diff`, jiti's
templates are written as a cloud assembly, so both tools compare the same templates with the
same live stacks. The CDK comes from npm, installed once into a cache directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench.stats import child_env, run

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


def write_assembly(out: Path, templates: dict[str, Path], environment: str) -> Path:
    """A cloud assembly of already synthesized stacks: each template under its stack's name
    in `environment` (aws://<account>/<region>), what `cdk diff --app <dir>` reads."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    artifacts = {}
    for name, template in templates.items():
        shutil.copy(template, out / f"{name}.template.json")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": environment,
            "properties": {"templateFile": f"{name}.template.json", "stackName": name},
            "displayName": name,
        }
    manifest = {"version": "36.0.0", "artifacts": artifacts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def diff(cdk: Path, assembly: Path, env: dict, parameters: dict, method: str) -> str:
    """`cdk diff` of every stack of `assembly` against the deployed ones (`method`: `auto`,
    the default, makes a change set per stack; `template` compares templates only), with
    `parameters` (stack -> name -> value) for its change sets; its output, exit code 0."""
    given = [
        f"--parameters={stack}:{name}={value}"
        for stack, values in parameters.items()
        for name, value in values.items()
        if method != "template"  # no change set: it takes no parameters
    ]
    command = [str(cdk), "diff", "--app", str(assembly), f"--method={method}", *given]
    command += ["--no-notices", "--no-version-reporting", "--no-color"]
    child = child_env({**env, "CDK_DISABLE_CLI_TELEMETRY": "true", "NO_COLOR": "1"})
    result = run(command, cwd=assembly.parent, env=child)
    return result.stdout + result.stderr


def diff_changes(output: str) -> dict[str, list[str]]:
    """The resources `cdk diff` shows as modified, stack by stack ("Stack <name>" heads a
    stack's section; "[~] <type> <logical id>" is a modified resource)."""
    found: dict[str, list[str]] = {}
    stack = None
    for line in output.splitlines():
        if line.startswith("Stack "):
            stack = line.split()[1]
            found[stack] = []
        elif stack and line.startswith("[~] AWS::"):
            found[stack].append(" ".join(line.split()[1:3]))
    return found
