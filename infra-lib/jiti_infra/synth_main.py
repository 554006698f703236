"""Synthesis entry point, run by the Pants plugin in a sandboxed pex.

Reads a request (JSON) naming the stack's source, its app name and its packaged assets, builds
the template (a troposphere module's `template(app)`, or a plain CloudFormation JSON/YAML
file), and writes it as canonical JSON: sorted keys, fixed indentation, no timestamps or
paths, so the same inputs always give the same bytes.

A user mistake ends with EXIT_USER_ERROR and one line on stderr; the plugin adds the target
address.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import os
import sys
import traceback
from pathlib import Path

from troposphere import Template

from jiti_contract import EXIT_USER_ERROR, SynthesisRequest, canonical_json, from_json
from jiti_infra import local_paths, plain_template
from jiti_infra.app import App
from jiti_version import JITI_PLUGIN_VERSION_ENV, JITI_VERSION


class SynthesisError(Exception):
    """A mistake in the stack's source, reported as one line."""


def _where(exc: BaseException, source_path: str) -> str:
    """The innermost line of the user's own file in a traceback, if any."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(source_path)
    ]
    return f" (line {frames[-1].lineno})" if frames else ""


def from_module(request: SynthesisRequest) -> dict:
    module_name, path = request.module, request.source
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        raise SynthesisError(f"syntax error in {path}, line {e.lineno}: {e.msg}") from None
    except Exception as e:
        raise SynthesisError(
            f"importing {path} failed{_where(e, path)}: {type(e).__name__}: {e}"
        ) from None
    build = getattr(module, "template", None)
    if not callable(build):
        raise SynthesisError(
            f"{path} must define a function `template(app)` returning a troposphere Template"
        )
    app = App(request.app, request.address, dict(request.assets))
    try:
        result = build(app)
    except Exception as e:
        raise SynthesisError(
            f"template(app) in {path} raised{_where(e, path)}: {type(e).__name__}: {e}"
        ) from None
    if not isinstance(result, Template):
        raise SynthesisError(
            f"template(app) in {path} returned {type(result).__name__}, expected a troposphere Template "
            "(return app.template)"
        )
    try:
        return app.finalize().to_dict() if result is app.template else result.to_dict()
    except Exception as e:  # troposphere validates required properties here
        raise SynthesisError(f"the template from {path} is invalid: {e}") from None


def _date_as_text(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def from_file(request: SynthesisRequest) -> dict:
    path = request.source
    try:
        template = plain_template.load(Path(path).read_text())
    except plain_template.TemplateError as e:
        raise SynthesisError(f"{path}: {e}") from None
    except Exception as e:
        raise SynthesisError(
            f"{path} is not a valid CloudFormation JSON/YAML template: {e}"
        ) from None
    if not isinstance(template, dict) or "Resources" not in template:
        raise SynthesisError(
            f"{path} is not a CloudFormation template: it has no top-level `Resources`"
        )
    problem = plain_template.shape_problem(template)
    if problem:
        raise SynthesisError(f"{path}: {problem}")
    # YAML reads an unquoted `AWSTemplateFormatVersion: 2010-09-09` as a date; CloudFormation
    # takes it as the text it is.
    return json.loads(json.dumps(template, default=_date_as_text))


def synthesize(request: SynthesisRequest) -> dict:
    template = from_module(request) if request.module else from_file(request)
    found = local_paths.problem(template)
    if found:
        raise SynthesisError(f"{request.source}: {found}")
    if request.description and "Description" not in template:
        template["Description"] = request.description
    return template


def version_mismatch(environ) -> str | None:
    """A plugin of another version than this jiti-infra: the template contract may differ."""
    plugin = environ.get(JITI_PLUGIN_VERSION_ENV)
    if not plugin or plugin == JITI_VERSION:
        return None
    return (
        f"the jiti plugin is version {plugin} but the locked jiti-infra is version "
        f"{JITI_VERSION}: require jiti-infra=={plugin} and regenerate the lockfile "
        "(`pants generate-lockfiles`), or install the plugin of version "
        f"{JITI_VERSION} (`[GLOBAL].plugins`)"
    )


def main(argv: list[str]) -> int:
    mismatch = version_mismatch(os.environ)
    if mismatch:
        print(mismatch, file=sys.stderr)
        return EXIT_USER_ERROR
    request_path, output_path = argv
    request = from_json(SynthesisRequest, Path(request_path).read_text())
    outputs = {output_path: request}
    if request.alternate_assets is not None:
        alternate = dataclasses.replace(request, assets=request.alternate_assets)
        outputs[str(Path(output_path).parent / Path(request.ALTERNATE).name)] = alternate
    for path, each in outputs.items():
        try:
            template = synthesize(each)
        except SynthesisError as e:
            print(str(e), file=sys.stderr)
            return EXIT_USER_ERROR
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(canonical_json(template))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
