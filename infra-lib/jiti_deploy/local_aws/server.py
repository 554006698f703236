"""The local AWS server process: moto, with jiti's CloudFormation fidelity fixes, on 127.0.0.1."""

from __future__ import annotations

import sys

from moto import server

from jiti_deploy.local_aws import fidelity


def main(argv: list[str]) -> None:
    (port,) = argv
    fidelity.apply()
    server.main(["--host", "127.0.0.1", "--port", port])


if __name__ == "__main__":
    main(sys.argv[1:])
