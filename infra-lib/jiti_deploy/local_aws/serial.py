"""CloudFormation calls one at a time (fix 25 of `fidelity`).

The local server answers each request on a thread of its own, and moto's CloudFormation
iterates its stacks (DescribeStacks, ListStacks, exports) while another request adds or removes
one: the call fails with `RuntimeError: OrderedDict mutated during iteration`, a 500 that
botocore reads as invalid XML. A parallel deploy of hundreds of stacks on a loaded machine hits
it (seen on a first `deploy-stacks` of 400 deployments, `--jiti-max-parallel=8`). CloudFormation
serves concurrent calls; here they take turns, which costs nothing moto would run in parallel
anyway (its work is Python, under one interpreter lock).
"""

from __future__ import annotations

import threading

from moto.cloudformation import responses

_TURN = threading.RLock()


def _in_turn(original):
    def call_action(self):
        with _TURN:
            return original(self)

    return call_action


def apply() -> None:
    response = responses.CloudFormationResponse
    response.call_action = _in_turn(response.call_action)
