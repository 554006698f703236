"""`[jiti]` options."""

from __future__ import annotations

from enum import Enum

from pants.option.option_types import (
    BoolOption,
    EnumOption,
    IntOption,
    StrListOption,
    StrOption,
)
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text

from jiti_contract import ASSETS_BUCKET_DEFAULT, STATEFUL_TYPES


class DeployTarget(Enum):
    local = "local"
    aws = "aws"
    auto = "auto"


class RequireApproval(Enum):
    never = "never"
    broadening = "broadening"


# Environment variables a deploy sees (with `[jiti].extra_env_vars`), the same for `run`,
# `experimental-deploy` and `deploy-stacks`: what boto3's credential chain, its endpoint and
# proxy settings and the CI check read. Nothing else of the caller's environment reaches it.
DEPLOY_ENV_VARS = (
    "HOME",
    "PATH",
    "CI",
    # credentials and profiles, SSO included (its cache is under HOME)
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    # web identity (e.g. GitHub Actions OIDC) and container credentials (ECS, CodeBuild)
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    # where calls go and how
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


class JitiSubsystem(Subsystem):
    options_scope = "jiti"
    help = help_text("Options for jiti's CloudFormation stacks and deployments.")

    target = EnumOption(
        enum_type=DeployTarget,
        default=None,
        help=help_text(
            """
            Where deployments go: `local`, the embedded local AWS (a moto server jiti starts on
            127.0.0.1); `aws`, the AWS account the configured credentials reach (boto3's chain:
            environment, profiles, SSO, web identity, container, instance metadata), or the
            endpoint in `AWS_ENDPOINT_URL`; `auto`, `aws` if that chain finds credentials,
            otherwise `local`. Unset means `local`, so a laptop with AWS credentials still
            deploys locally until you opt in, once, in `pants.toml` or a CI config file.

            With the `CI` environment variable set, a deploy refuses to run while this is
            unset or `auto`: a CI job must say where it deploys.
            """
        ),
    )
    dry_run = BoolOption(
        default=False,
        help=help_text(
            """
            Create and show each deployment's change set, then delete it without executing:
            nothing is uploaded or changed. Works with `deploy-stacks`, `experimental-deploy` and
            `run` (`pants run <deployment> -- --dry-run` does the same for one deployment).
            """
        ),
    )
    force = BoolOption(
        default=False,
        help=help_text(
            """
            Deploy even when the live stack already carries the same version and settings:
            the template, parameters and tags are applied again and the steps after the update
            (site content, termination protection) are redone, e.g. to reconcile edits made in
            the console (`pants run <deployment> -- --force` for one deployment).
            """
        ),
    )
    assets_bucket = StrOption(
        default=ASSETS_BUCKET_DEFAULT,
        help=help_text(
            """
            The name of the assets bucket of each account and region (`{account}` and
            `{region}` are filled in). jiti creates it private, encrypted, TLS-only and
            versioned, and refuses a bucket of that name that another account owns: name it
            otherwise (e.g. `acme-jiti-{account}-{region}`) if yours was taken.
            """
        ),
        advanced=True,
    )
    max_parallel = IntOption(
        default=4,
        help=help_text(
            """
            How many stacks `deploy-stacks` deploys at once. Deployments wait for those they
            depend on; independent ones run side by side.
            """
        ),
    )
    extra_env_vars = StrListOption(
        default=[],
        help=help_text(
            f"""
            More environment variables for deployments to see, added to the ones every deploy
            sees: {', '.join(f'`{name}`' for name in DEPLOY_ENV_VARS)}. The same list applies
            to `run`, `experimental-deploy` and `deploy-stacks`. As in Pants' own
            `extra_env_vars`, `NAME` takes the variable from Pants' environment and
            `NAME=value` sets it; either way it reaches the deploy in its environment, never on
            its command line.
            """
        ),
        advanced=True,
    )
    repository = StrOption(
        default=None,
        help=help_text(
            """
            This repository's id, tagged as `jiti:repository` on every stack and StackSet jiti
            deploys: `prune-stacks` deletes only stacks carrying it. Set it in `pants.toml`
            (e.g. `github.com/org/repo`) so that every clone (CI's, a colleague's under another
            name) is the same repository, and so that two repositories deploying to one account
            never share it. Unset, it is the git remote `origin` as `host/path` (no user,
            password or `.git`; with the build root's directory in the work tree added when it
            is not the top). Without either, stacks are deployed without the tag and
            `prune-stacks` refuses to run: it is never the build root's directory name, which
            two checkouts called `src` would share.
            """
        ),
    )
    fail_on_replace = BoolOption(
        default=False,
        help=help_text(
            """
            Stop a deploy or dry run whose change set would replace or delete a resource of a
            type in `[jiti].fail_on_replace_types` (data), before anything is executed: the
            change set is deleted and the deployment fails, naming the resource and why (which
            property forces the replacement, or its removal from the template).
            """
        ),
    )
    fail_on_replace_types = StrListOption(
        default=list(STATEFUL_TYPES),
        help=help_text(
            """
            The resource types `--jiti-fail-on-replace` guards: by default the ones that hold
            data (DynamoDB tables, S3 buckets, RDS, EFS, ElastiCache, OpenSearch, Kinesis,
            Cognito user pools, KMS keys, secrets, ...).
            """
        ),
        advanced=True,
    )
    protected_environments = StrListOption(
        default=["prod"],
        help=help_text(
            """
            Environments where a deployment may not set `disable_rollback`: a failed update
            there always rolls back. They are never hotswapped either (`--jiti-hotswap`).
            """
        ),
    )
    prune_confirm = BoolOption(
        default=False,
        help=help_text(
            """
            Let `prune-stacks` delete what it finds (the stacks this repository deployed and no
            longer deploys, and with `--jiti-prune-assets` the unused assets); without it,
            `prune-stacks` only lists them with the reason.
            """
        ),
    )
    prune_assets = BoolOption(
        default=False,
        help=help_text(
            """
            Let `prune-stacks` also find the objects of the assets buckets that no live stack or
            StackSet references, older than `[jiti].prune_assets_grace_days` (as `cdk gc`).
            """
        ),
    )
    prune_assets_grace_days = IntOption(
        default=7,
        help=help_text(
            """
            How old an unused asset must be before `prune-stacks --jiti-prune-assets` deletes it,
            in days: a deploy running meanwhile (or one rolled back to) keeps what it uploaded.
            """
        ),
        advanced=True,
    )
    tailor_stacks = BoolOption(
        default=True,
        help=help_text(
            """
            If true, `pants tailor` adds a `cloudformation_stack` for each `infra.py` that
            defines `template(app)`, and for each `*.template.yaml`, `*.template.yml` or
            `*.template.json`, that is not yet a stack's `source`.
            """
        ),
        advanced=True,
    )
    preview = StrOption(
        default=None,
        help=help_text(
            """
            A preview environment's name (e.g. `pr-123`: 1 to 20 lowercase letters, digits and
            hyphens). With `deploy-stacks`, the selected deployments whose environment is
            `[jiti].preview_base` are deployed as copies in this environment (its name in
            their stack names, `{env}` placeholders, `Environment` parameter and `jiti:env`
            tag; the base's account and region), the others left out; an input whose producer
            is not copied too reads the base environment's stack. Their stacks are tagged
            `jiti:preview` and `jiti:expires`: CloudFormation puts a stack's tags on every
            taggable resource, so a deploy that renews the expiry re-tags the preview's
            resources (acceptable for a preview, never done to other stacks). With
            `drift-stacks`, the copies are checked; with `destroy-stacks`, the whole preview is
            removed. Refused for a protected environment's name or base, and for StackSets.
            """
        ),
    )
    preview_base = StrOption(
        default="dev",
        help=help_text(
            """
            The environment a preview copies: only deployments in it are copied, and inputs
            whose producer is not in the preview take this environment's outputs.
            """
        ),
        advanced=True,
    )
    preview_ttl_hours = IntOption(
        default=72,
        help=help_text(
            """
            How long a preview environment lives after its last deploy, in hours, before
            `prune-stacks --jiti-prune-expired` removes it (`jiti:expires`, rounded down to the
            hour: a deploy in the same hour leaves an unchanged stack alone).
            """
        ),
        advanced=True,
    )
    require_approval = EnumOption(
        enum_type=RequireApproval,
        default=RequireApproval.never,
        help=help_text(
            """
            With `broadening`, `plan-stacks` fails (after writing its plan) when a change
            broadens security: an IAM statement, policy or role trust that grants more, a
            security group rule that opens more, a resource policy that lets more principals in
            (as `cdk deploy --require-approval broadening`). With `never`, such changes are only
            flagged in the plan.
            """
        ),
    )
    expect_plan = StrOption(
        default=None,
        help=help_text(
            """
            A plan written by `plan-stacks` (e.g. `dist/jiti-plan.json`, relative to the build
            root): `deploy-stacks`, `experimental-deploy` and `run` then refuse each deployment
            whose live stack changed since the plan read it, or whose version differs from the
            one planned (its template, assets or settings changed after the review), naming it;
            the others deploy. Re-run `plan-stacks` to review the refused ones again.
            """
        ),
    )
    prune_expired = BoolOption(
        default=False,
        help=help_text(
            """
            Let `prune-stacks` also find the preview environments' stacks (tag `jiti:preview`)
            whose `jiti:expires` has passed, in every account and region the repository reaches;
            `--jiti-prune-confirm` deletes them. Without it, and always for live previews,
            `prune-stacks` never touches a preview's stack.
            """
        ),
    )
    destroy_confirm = BoolOption(
        default=False,
        help=help_text(
            """
            Let `destroy-stacks` delete the stacks of the selected deployments (or, with
            `[jiti].preview`, the whole preview); without it, it only lists them.
            """
        ),
    )
    destroy_protected = BoolOption(
        default=False,
        help=help_text(
            """
            Let `destroy-stacks` delete the stacks of deployments whose environment is in
            `[jiti].protected_environments`; without it they are refused, before anything is
            deleted.
            """
        ),
    )
    destroy_data = BoolOption(
        default=False,
        help=help_text(
            """
            Let `destroy-stacks` also delete the resources a stack's deletion keeps (DeletionPolicy
            Retain): DynamoDB tables, S3 buckets (every object version first) and log groups;
            anything else is listed with the command that deletes it. Without it they are
            listed and kept.
            """
        ),
    )
    hotswap = BoolOption(
        default=False,
        help=help_text(
            """
            Change a live stack's Lambda code, its environment variables written in the
            template, and a static site's content directly (seconds, no change set) when
            nothing else differs from the stack; anything else deploys as usual, saying why.
            The stack still records the version before: the next deploy without this flag
            deploys and reconciles, and `drift-stacks` reports the hotswapped functions. Never
            for `protected_environments`, StackSets, or in CI (see `hotswap_in_ci`).
            """
        ),
    )
    hotswap_in_ci = BoolOption(
        default=False,
        help="Let `--jiti-hotswap` run when CI is set (refused there otherwise).",
        advanced=True,
    )
    invoke_deployment = StrOption(
        default=None,
        help=help_text(
            """
            `pants run` on a `python_awslambda` runs its handler locally with the environment of
            the function a deployment made from it: this names that deployment (e.g.
            `apps/greeter:deploy`) when the stacks of several deployments package the Lambda.
            Unset: the only one, or the one in the environment `[jiti].preview_base`.
            """
        ),
    )
