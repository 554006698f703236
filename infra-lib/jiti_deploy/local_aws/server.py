"""The local AWS server process: moto, with jiti's CloudFormation fidelity fixes, on 127.0.0.1.

It binds a port of its own choosing (no port is chosen first and bound later, which another
program could take in between) and reports it in the file its argument names. It proves it is
jiti's server: `IDENTITY_PATH?nonce=N` answers the HMAC of N under the token it was started
with (given in its environment, never on its command line).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # pants: no-infer-dep (moto[server] brings it)

from jiti_deploy.local_aws import IDENTITY_PATH, TOKEN_VARIABLE, fidelity, identity


def identified(app, token: str):
    """`app`, answering the identity challenge on IDENTITY_PATH."""

    def serve(environ, start_response):
        if environ.get("PATH_INFO") != IDENTITY_PATH:
            return app(environ, start_response)
        nonce = parse_qs(environ.get("QUERY_STRING", "")).get("nonce", [""])[0]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [identity(token, nonce).encode()]

    return serve


def main(argv: list[str]) -> None:
    (port_file,) = argv
    token = os.environ.pop(TOKEN_VARIABLE)
    fidelity.apply()
    app = identified(DomainDispatcherApplication(create_backend_app), token)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = str(server.server_address[1])
    os.environ["MOTO_PORT"] = port  # what moto puts in the URLs it makes
    written = Path(f"{port_file}.tmp")
    written.write_text(port)
    written.replace(port_file)  # whole, or not at all
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
