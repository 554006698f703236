"""The process that runs a handler locally, run for real on real handler files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from jiti_deploy import lambda_process

HANDLER = """
import os
import sys

print("starting", flush=True)  # at import: a log line, not the result


def handle(event, context):
    print("handling", event["n"])
    return {
        "n": event["n"] * 2,
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "table": os.environ["TABLE_NAME"],
        "cwd": os.getcwd(),
    }


def fail(event, context):
    return helper(event)


def helper(event):
    raise ValueError(f"no good: {event['n']}")


def not_json(event, context):
    return {"when": object()}
"""


def run(tmp_path: Path, handler: str, event: dict, **env: str) -> subprocess.CompletedProcess:
    """The handler file `app/handler.py` under a source root, run as the invoke mode runs it:
    this file copied alone into a directory of its own."""
    root = tmp_path / "src"
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app/__init__.py").write_text("")
    (root / "app/handler.py").write_text(textwrap.dedent(HANDLER))
    alone = tmp_path / "harness"
    alone.mkdir(exist_ok=True)
    shutil.copyfile(lambda_process.__file__, alone / "lambda_process.py")
    command = [sys.executable, str(alone / "lambda_process.py"), "--handler", handler]
    command += ["--root", str(root), "--function-arn", "arn:aws:lambda:us-east-1:1:function:f"]
    command += ["--task-root", str(root)]
    return subprocess.run(
        [*command, "--timeout", "30"],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "f", **env},
        cwd=tmp_path,
    )


def test_the_result_is_the_only_thing_on_stdout_and_the_context_is_lambda_s(tmp_path):
    done = run(
        tmp_path,
        "app.handler:handle",
        {"n": 21},
        TABLE_NAME="orders-dev",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n"] == 42 and result["table"] == "orders-dev"
    assert result["name"] == "f" and result["memory"] == "256"
    assert result["arn"] == "arn:aws:lambda:us-east-1:1:function:f"
    assert len(result["request_id"]) == 36 and result["cwd"] == str(tmp_path / "src")
    assert 25_000 < result["remaining"] <= 30_000
    assert done.stderr.split() == ["starting", "handling", "21"]


def test_an_exception_is_the_handler_s_traceback_and_exit_1(tmp_path):
    done = run(tmp_path, "app.handler:fail", {"n": 7})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("starting\nTraceback (most recent call last):")
    assert 'handler.py", line' in done.stderr and "in helper" in done.stderr
    assert "ValueError: no good: 7" in done.stderr
    assert "lambda_process.py" not in done.stderr  # the user's frames only


def test_a_result_that_is_not_json_is_a_marshal_error(tmp_path):
    done = run(tmp_path, "app.handler:not_json", {})
    assert done.returncode == 1 and done.stdout == ""
    assert "Runtime.MarshalError: Unable to marshal response" in done.stderr


def test_a_handler_that_cannot_be_imported_is_its_traceback(tmp_path):
    done = run(tmp_path, "app.missing:handle", {})
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'app.missing'" in done.stderr
