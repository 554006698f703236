"""The process that runs a Lambda handler on this machine, as the Lambda Python runtime calls it.

The deploy runtime's `invoke` mode copies this file alone into an empty directory and runs it
with a Python holding the Lambda's requirements, in the environment the function has:
`python lambda_process.py --handler MODULE:FUNCTION --root DIR ...`, the event (JSON) on stdin.
It imports the handler from the source roots, calls it with the event and a context object
(AWS Lambda Developer Guide, "Using the Lambda context object to retrieve Python function
information"), and writes the result as JSON on stdout, the only thing written there: what the
handler prints goes to stderr, as its logs. An exception in the handler's code (importing it
included) is the user's: its traceback on stderr, without this file's frames, and exit 1.

Standard library only: it runs in the Lambda's Python, not the runtime's.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import time
import traceback
import uuid

HANDLER_FAILED = 1


class LambdaContext:
    """The context object the Python runtime passes: the function's identity and limits from
    the environment the invoke mode sets, a new request id, and the time left before its
    timeout (which is not enforced here)."""

    def __init__(self, function_arn: str, timeout_s: int):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _user_traceback(error: BaseException) -> None:
    """The traceback from the user's code on: this file's frames are not theirs."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb, file=sys.stderr)


def _call(handler: str, event, context: LambdaContext):
    module_name, _, function_name = handler.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)(event, context)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lambda_process")
    parser.add_argument("--handler", required=True, help="MODULE:FUNCTION")
    parser.add_argument("--root", action="append", default=[], help="a source root")
    parser.add_argument("--function-arn", default="")
    parser.add_argument("--timeout", type=int, default=3, help="the function's timeout, seconds")
    parser.add_argument("--task-root", default=None, help="the working directory, as Lambda's")
    args = parser.parse_args(argv)
    sys.path[0:0] = args.root
    if args.task_root:
        os.chdir(args.task_root)
    event = json.loads(sys.stdin.read())
    context = LambdaContext(args.function_arn, args.timeout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = _call(args.handler, event, context)
    except BaseException as e:  # noqa: BLE001 - the handler's own failure, SystemExit included
        _user_traceback(e)
        return HANDLER_FAILED
    try:
        text = json.dumps(result)
    except (TypeError, ValueError) as e:  # as the runtime says it: Runtime.MarshalError
        print(f"Runtime.MarshalError: Unable to marshal response: {e}", file=sys.stderr)
        return HANDLER_FAILED
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
