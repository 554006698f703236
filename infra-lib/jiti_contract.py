"""The contract between jiti's Pants plugin and the programs it runs: the synthesis main and the
deploy runtime.

The plugin writes a synthesis request, a manifest per stack and a plan per deployment; the
programs read them. Both sides import this module (it is in both resolves, standard library
only), so every file name, key, tag, parameter name and exit code is defined once, here.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple, Type, TypeVar

# A mistake in the user's input: the program printed one line for the user, no traceback.
EXIT_USER_ERROR = 2

# Tags jiti puts on every stack it deploys: only stable ones, which say who owns the stack.
# CloudFormation propagates a stack's tags to every taggable resource in it, so a tag that
# changed with each deploy would re-tag every resource on every deploy.
APP_TAG = "jiti:app"
ENV_TAG = "jiti:env"
DEPLOYMENT_TAG = "jiti:deployment"  # the deployment that owns the stack (see deployment_tag)
REPOSITORY_TAG = "jiti:repository"  # the repository that deploys the stack ([jiti].repository)
# The deployments the stack's own deployment depends on (`deployment_tag` values, space
# separated), so that `prune-stacks` deletes dependents first once the targets are gone. A
# value holds at most TAG_VALUE_LIMIT characters: longer lists go on in `jiti:depends-on-2`, ...
DEPENDS_ON_TAG = "jiti:depends-on"
TAG_VALUE_LIMIT = 256
# A preview environment's stacks (`deploy-stacks --jiti-preview=<name>`): its name, and when
# `prune-stacks --jiti-prune-expired` may remove it (ISO 8601 UTC, `2026-12-05T07:00:00Z`),
# renewed by each deploy of the preview.
PREVIEW_TAG = "jiti:preview"
EXPIRES_TAG = "jiti:expires"

# What changes with each deploy is recorded as outputs instead, which the deploy adds to the
# template it sends (constant values: no resource depends on them) and reads back in the same
# DescribeStacks. They are never shown, written or handed on as the app's own outputs.
VERSION_OUTPUT = "JitiVersion"  # the stack's content version (see Manifest.version)
CONFIG_OUTPUT = "JitiConfig"  # a hash of the deployment's own settings
COMMIT_OUTPUT = "JitiCommit"  # the source commit the stack was deployed from
COMMIT_TIME_OUTPUT = "JitiCommitTime"  # its commit time, in seconds since the epoch
RECORD_OUTPUTS = (VERSION_OUTPUT, CONFIG_OUTPUT, COMMIT_OUTPUT, COMMIT_TIME_OUTPUT)

# Template parameters whose values jiti supplies at deploy time.
ENVIRONMENT_PARAMETER = "Environment"
ASSETS_BUCKET_PARAMETER = "AssetsBucket"
# The S3 object version of an asset that CloudFormation reads (e.g. a Lambda function's
# `Code.S3ObjectVersion`), so that bytes put at the asset's key later change nothing deployed.
# Its default, "", leaves the version unpinned (StackSets, whose buckets differ per region).
ASSET_VERSION_PARAMETER_PREFIX = "JitiAssetVersion"


def asset_version_parameter(sha256: str) -> str:
    """The parameter holding the S3 object version of the asset with content `sha256`."""
    return f"{ASSET_VERSION_PARAMETER_PREFIX}{sha256[:16]}"


# The assets bucket of each account and region (`[jiti].assets_bucket`).
ASSETS_BUCKET_DEFAULT = "jiti-assets-{account}-{region}"
ASSETS_BUCKET_PLACEHOLDERS = ("account", "region")

# Resource types that hold data: `--jiti-fail-on-replace` stops a deploy that would replace or
# delete one (`[jiti].fail_on_replace_types`).
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::Kinesis::Stream",
    "AWS::Cognito::UserPool",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::DocDB::DBCluster",
    "AWS::Neptune::DBCluster",
    "AWS::Redshift::Cluster",
    "AWS::Backup::BackupVault",
)

# Deletion policies that keep a resource when its stack is deleted: the data jiti guards.
RETAINING_POLICIES = ("Retain", "RetainExceptOnCreate")

# Template metadata: archive assets the deploy unpacks into a bucket once the stack is live.
SITE_CONTENT_METADATA = "jiti:site-content"

# CloudFormation's limits on a template: inline in the call, and read from S3.
TEMPLATE_BODY_LIMIT = 51_200
TEMPLATE_URL_LIMIT = 1_048_576

# Where a deploy goes (`[jiti].target`): the embedded local AWS, an AWS account, or whichever
# boto3's credential chain finds.
TARGETS = ("local", "aws", "auto")

# Placeholders users may write in BUILD files, and where each is allowed.
STACK_NAME_PLACEHOLDERS = ("app", "env")
PARAMETER_PLACEHOLDERS = ("account", "region", "env")  # also in the SSM names of `inputs`
ASSUME_ROLE_PLACEHOLDERS = ("account", "partition")  # `{partition}`: filled by the runtime

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class PlaceholderError(ValueError):
    """A `{name}` that is not allowed where it is written."""


def deployment_tag(address: str) -> str:
    """A deployment's address as a tag value (commas, which parametrized addresses hold, are not
    allowed in the tags of many resource types)."""
    return address.replace(",", "+")


def depends_on_tags(addresses: Tuple[str, ...]) -> dict[str, str]:
    """The `jiti:depends-on` tags recording `addresses` (deployments), as few as fit."""
    values: list[str] = []
    for value in sorted(deployment_tag(a) for a in addresses):
        if values and len(values[-1]) + 1 + len(value) <= TAG_VALUE_LIMIT:
            values[-1] += " " + value
        else:
            values.append(value)
    return {
        DEPENDS_ON_TAG if i == 0 else f"{DEPENDS_ON_TAG}-{i + 1}": value
        for i, value in enumerate(values)
    }


def depends_on_from_tags(tags: Mapping[str, str]) -> set[str]:
    """The deployment tags a stack's `jiti:depends-on` tags name."""
    return {
        value
        for key, text in tags.items()
        if key == DEPENDS_ON_TAG or re.fullmatch(re.escape(DEPENDS_ON_TAG) + r"-[0-9]+", key)
        for value in text.split()
    }


def retained_resources(template: Mapping[str, Any]) -> list[str]:
    """The logical ids of a template's resources that outlive their stack (data)."""
    return sorted(
        logical_id
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, Mapping) and resource.get("DeletionPolicy") in RETAINING_POLICIES
    )


def default_stack_policy(retained: Tuple[str, ...]) -> Optional[dict]:
    """The stack policy of a stack holding data: every update is allowed except replacing or
    deleting a retained resource. None for a stack without one (no policy is set)."""
    if not retained:
        return None
    return {
        "Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": [f"LogicalResourceId/{r}" for r in sorted(retained)],
            },
        ]
    }


def placeholders_in(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def check_placeholders(text: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(placeholders_in(text) - set(allowed))
    if unknown:
        names = ", ".join("{" + a + "}" for a in allowed)
        raise PlaceholderError(
            f"{text!r} uses {', '.join('{' + u + '}' for u in unknown)}; only {names} may be used"
        )


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{name}` in `text` by `values[name]`; names without a value stay as they are
    (they are filled later, where their value is known: account and region at deploy time)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def check_parameters(
    declared: Mapping[str, Mapping[str, Any]], values: Mapping[str, str], supplied: set[str]
) -> list[str]:
    """What is wrong with a deployment's parameter `values` for a template that `declared`
    them (its Parameters section), as CloudFormation would see it; `supplied` are the
    parameters jiti fills in itself. Values still holding a placeholder are checked later,
    once it is filled."""
    problems = []
    unknown = sorted(set(values) - set(declared))
    if unknown:
        problems.append(
            f"{', '.join(unknown)} not declared by the template (it declares: "
            f"{', '.join(sorted(declared)) or 'none'})"
        )
    missing = sorted(
        name
        for name, spec in declared.items()
        if "Default" not in spec and name not in values and name not in supplied
    )
    if missing:
        problems.append(f"{', '.join(missing)} required by the template (no default) but not set")
    for name, value in sorted(values.items()):
        if name in declared and not placeholders_in(value):
            problem = _parameter_problem(declared[name], str(value))
            if problem:
                shown = "(a NoEcho value)" if is_no_echo(declared[name]) else repr(value)
                problems.append(f"{name}={shown}: {problem}")
    return problems


def is_no_echo(spec: Mapping[str, Any]) -> bool:
    """A parameter whose value CloudFormation never shows; jiti never shows or stores it either."""
    return str(spec.get("NoEcho", "false")).lower() == "true"


def _parameter_problem(spec: Mapping[str, Any], value: str) -> str | None:
    kind = spec.get("Type", "String")
    if kind not in ("String", "Number"):  # lists and AWS-specific types: AWS checks them
        return None
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return f"not one of the AllowedValues {', '.join(map(str, allowed))}"
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        return _bounds_problem(spec, value, number, ("MinValue", "MaxValue"))
    pattern = spec.get("AllowedPattern")
    if pattern is not None:
        try:
            matches = pattern_matches(str(pattern), value)
        except PatternTimeout:
            return (
                f"the AllowedPattern {pattern} did not finish matching in "
                f"{PATTERN_TIMEOUT_S:g}s (nested repeats backtrack): simplify it"
            )
        if matches is False:
            return f"does not match the AllowedPattern {pattern}"
    return _bounds_problem(spec, value, len(value), ("MinLength", "MaxLength"))


def _bounds_problem(spec: Mapping[str, Any], value: str, measure: float, keys) -> str | None:
    """`measure` (the number, or the length) against the spec's lower and upper bound."""
    low, high = keys
    for key in keys:
        if key not in spec:
            continue
        try:
            bound = float(spec[key])
        except (TypeError, ValueError):
            return f"the {key} {spec[key]!r} is not a number"
        if (measure < bound) if key == low else (measure > bound):
            if key in ("MinLength", "MaxLength"):
                if is_no_echo(spec):  # a secret's length is a secret too
                    return f"{'shorter' if key == low else 'longer'} than the {key} {spec[key]}"
                return f"{len(value)} characters, the {key} is {spec[key]}"
            return f"outside the {key} {spec[key]}"
    return None


# An AllowedPattern is matched within this time: nested repeats such as `(a+)+$` backtrack
# for hours on a value that almost matches.
PATTERN_TIMEOUT_S = 2.0
_MATCH = (
    "import json, re, sys\n"
    "pattern, value = json.load(sys.stdin)\n"
    "try:\n    found = re.fullmatch(pattern, value)\n"
    "except re.error:\n    sys.exit(2)\n"
    "sys.exit(0 if found else 1)\n"
)


class PatternTimeout(Exception):
    """The pattern did not finish matching within PATTERN_TIMEOUT_S."""


def _cannot_backtrack(pattern: str) -> bool:
    """At most one repeat and no alternation: matching is quick whatever the value."""
    return sum(pattern.count(c) for c in "*+?{") <= 1 and "|" not in pattern


def pattern_matches(pattern: str, value: str) -> Optional[bool]:
    """Whether all of `value` matches `pattern`; None for a pattern Python cannot read (a
    Java-only one: CloudFormation checks it). A pattern that could backtrack is matched in a
    process that is killed after PATTERN_TIMEOUT_S (a thread cannot be stopped); the value
    goes through its stdin, never its command line."""
    if _cannot_backtrack(pattern):
        try:
            return re.fullmatch(pattern, value) is not None
        except re.error:
            return None
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _MATCH],
            input=json.dumps([pattern, value]),
            capture_output=True,
            text=True,
            timeout=PATTERN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise PatternTimeout() from None
    return {0: True, 1: False}.get(done.returncode)


# --- the files --------------------------------------------------------------------------

T = TypeVar("T")


def to_json(record: Any) -> str:
    """Canonical JSON for a contract record: sorted keys, two-space indent, trailing newline."""
    return json.dumps(dataclasses.asdict(record), sort_keys=True, indent=2) + "\n"


def from_json(cls: Type[T], text: str) -> T:
    return from_dict(cls, json.loads(text))


def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
    """Build a contract record, nested records and tuples included, refusing unknown keys."""
    hints = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {', '.join(unknown)}")
    values = {}
    for name, value in data.items():
        nested = _NESTED.get((cls.__name__, name))
        if nested and value is not None:
            if isinstance(value, list):
                value = tuple(from_dict(nested, v) for v in value)
            else:
                value = from_dict(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)


@dataclass(frozen=True)
class SynthesisRequest:
    """What the plugin asks the synthesis main to build."""

    address: str  # the stack target
    app: str  # the app name the infra module sees as `app.name`
    source: str  # the infra module or plain template, relative to the build root
    module: Optional[str] = None  # the infra module's import name; None for a plain template
    description: Optional[str] = None
    # Packaged dependencies by address: {"key": S3 key, "sha256": content hash}.
    assets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The same addresses with other digests: the template is built a second time with these and
    # written to ALTERNATE, so the plugin can check it depends on the digests only as text.
    alternate_assets: Optional[Mapping[str, Mapping[str, str]]] = None

    FILE = "__jiti_synth_request.json"
    OUTPUT = "__jiti_synth_out/template.json"
    ALTERNATE = "__jiti_synth_out/template.alternate.json"


def canonical_json(template: dict) -> str:
    """A template's bytes: sorted keys, fixed indentation, so the same template is the same
    bytes wherever it is written."""
    return json.dumps(template, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Asset:
    """A packaged dependency, named by its content: `assets/<sha256><ext>`."""

    address: str
    sha256: str
    size: int
    key: str
    file: str  # the copy beside the manifest, relative to it


@dataclass(frozen=True)
class Manifest:
    """`<name>.manifest.json`: what a packaged stack is, beside its template and assets."""

    address: str
    app: str
    version: str  # sha256 over the canonical template and every asset's content
    template: str  # the template file, relative to the manifest
    template_sha256: str
    assets: Tuple[Asset, ...]
    parameters: Mapping[str, Any]  # the template's Parameters section
    tags: Mapping[str, str]
    description: Optional[str]

    @property
    def version_short(self) -> str:
        return self.version[:12]

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["version_short"] = self.version_short  # for people and scripts reading the file
        return json.dumps(data, sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        data.pop("version_short", None)
        return from_dict(cls, data)


@dataclass(frozen=True)
class StackSetSettings:
    """StackSets mode: one StackSet, one instance per account and region."""

    accounts: Tuple[str, ...]
    regions: Tuple[str, ...]
    max_concurrent_percentage: int
    failure_tolerance_percentage: int


@dataclass(frozen=True)
class StackPlace:
    """Where a deployment's stack lives (known without building it), and how to read it with
    that deployment's credentials."""

    address: str  # the deployment
    stack_name: str
    account: Optional[str] = None  # None: the current credentials' account
    region: Optional[str] = None  # None: the default region
    assume_role: Optional[str] = None  # may hold `{account}`
    stack_set: bool = False  # a StackSet of that name, with instances elsewhere

    @property
    def role_to_assume(self) -> Optional[str]:
        """The role to assume in `account` (`{account}` filled in); None without an account."""
        if not (self.account and self.assume_role):
            return None
        return fill_placeholders(self.assume_role, {"account": self.account})

    @property
    def where(self) -> str:
        return (
            "/".join(filter(None, (self.account, self.region))) or "the default account and region"
        )


@dataclass(frozen=True)
class Input:
    """A template parameter whose value the deploy looks up (the deployment's `inputs` field):
    an output of another deployment's stack, or a plain SSM Parameter Store value."""

    parameter: str
    producer: Optional[StackPlace] = None  # the deployment whose stack has the output
    output: Optional[str] = None
    ssm_parameter: Optional[str] = None  # may hold PARAMETER_PLACEHOLDERS

    @property
    def source(self) -> str:
        """Where the value comes from, as the BUILD file writes it."""
        if self.producer is not None:
            return f"{self.producer.address}.{self.output}"
        return f"{SSM_INPUT_PREFIX}{self.ssm_parameter}"


# An input naming an SSM parameter: `ssm:/shop/{env}/limit`.
SSM_INPUT_PREFIX = "ssm:"


@dataclass(frozen=True)
class Consumer:
    """A deployment whose `inputs` take outputs of this one, as the BUILD files say."""

    place: StackPlace
    outputs: Tuple[str, ...]
    no_echo_outputs: Tuple[str, ...] = ()  # those it takes as NoEcho: secrets, never shown


@dataclass(frozen=True)
class PreviewSettings:
    """A deployment deployed as its copy in a preview environment (`deploy-stacks
    --jiti-preview=<name>`): the plan's environment is `name`, its stack carries PREVIEW_TAG
    and EXPIRES_TAG (`ttl_hours` after the deploy), and it never takes over `base`'s stack."""

    name: str
    base: str
    ttl_hours: int


@dataclass(frozen=True)
class Plan:
    """`jiti-plans/<address>.json`: one deployment's settings, for the deploy runtime."""

    address: str
    name: str  # names the outputs file; parametrized copies each get their own
    app: str
    stack_name: str
    environment: str
    manifest: str  # the packaged stack's manifest, relative to the artifacts root
    region: Optional[str] = None
    account: Optional[str] = None
    assume_role: Optional[str] = None  # may hold `{account}`
    stack_set: Optional[StackSetSettings] = None
    parameters: Mapping[str, str] = field(default_factory=dict)  # may hold PARAMETER_PLACEHOLDERS
    tags: Mapping[str, str] = field(default_factory=dict)
    role_arn: Optional[str] = None
    termination_protection: bool = False
    capabilities: Tuple[str, ...] = ()
    depends_on: Tuple[str, ...] = ()  # deployments that go first when deployed together
    repository: Optional[str] = None  # the repository deploying it (the jiti:repository tag)
    stack_policy: Optional[Mapping[str, Any]] = None  # set on create and before each update
    rollback_alarms: Tuple[str, ...] = ()  # CloudWatch alarm ARNs or names: rollback triggers
    rollback_monitoring_minutes: int = 0
    notification_arns: Tuple[str, ...] = ()  # SNS topics that get the stack's events
    disable_rollback: bool = False  # a failed create or update stays as it failed
    inputs: Tuple[Input, ...] = ()  # parameters whose values the deploy looks up
    consumers: Tuple[Consumer, ...] = ()  # deployments that take this one's outputs
    preview: Optional[PreviewSettings] = None  # a preview environment's copy of a deployment

    DIR = "jiti-plans"

    @staticmethod
    def path_for(path_safe_address: str) -> str:
        return f"{Plan.DIR}/{path_safe_address}.json"


@dataclass(frozen=True)
class Inventory:
    """`jiti-inventory.json`: deployments by where their stacks live, for the runtime's modes
    that need no packaged stack: `prune` (every deployment in the repository) and `drift`
    (the selected ones)."""

    repository: Optional[str]  # None without an id: drift needs none, prune refuses to run
    stacks: Tuple[StackPlace, ...]

    FILE = "jiti-inventory.json"


@dataclass(frozen=True)
class InvokeRequest:
    """`jiti-invoke.json`: run a `python_awslambda`'s handler on this machine, with the
    environment its deployed function has (`pants run` on the Lambda; the runtime's `invoke`
    mode). Paths are relative to the artifacts root; `source_roots` are relative to the build
    root as well (the workspace's files first, then their copies beside the request)."""

    address: str  # the python_awslambda
    handler: str  # `module:function`
    runtime: str  # the Lambda runtime, e.g. `python3.11`
    python: str  # a script running a Python with the Lambda's requirements (and boto3)
    source_roots: Tuple[str, ...]
    deployment: Optional[str] = None  # the deployment whose function it is; None: none is
    place: Optional[StackPlace] = None  # that deployment's stack
    template: Optional[str] = None  # its stack's synthesized template
    asset_key: Optional[str] = None  # the Lambda's asset in that template (`Code.S3Key`)
    note: Optional[str] = None  # why there is no deployment, for the one line saying so

    FILE = "jiti-invoke.json"


_NESTED: dict[tuple[str, str], type] = {
    ("Manifest", "assets"): Asset,
    ("Plan", "stack_set"): StackSetSettings,
    ("Inventory", "stacks"): StackPlace,
    ("Plan", "inputs"): Input,
    ("Plan", "consumers"): Consumer,
    ("Plan", "preview"): PreviewSettings,
    ("Input", "producer"): StackPlace,
    ("Consumer", "place"): StackPlace,
    ("InvokeRequest", "place"): StackPlace,
}
