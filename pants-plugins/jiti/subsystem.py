"""`[jiti]` options."""

from pants.option.option_types import BoolOption, IntOption, StrListOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text

# Environment variables a deploy may need to reach AWS; only these are passed to it.
DEFAULT_DEPLOY_ENV_VARS = (
    "HOME",
    "PATH",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_EC2_METADATA_DISABLED",
    "JITI_AWS",
)


class JitiSubsystem(Subsystem):
    options_scope = "jiti"
    help = help_text("Options for jiti's CloudFormation stacks and deployments.")

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
    max_parallel = IntOption(
        default=4,
        help=help_text(
            """
            How many stacks `deploy-stacks` deploys at once. Deployments wait for those they
            depend on; independent ones run side by side.
            """
        ),
    )
    deploy_env_vars = StrListOption(
        default=list(DEFAULT_DEPLOY_ENV_VARS),
        help=help_text(
            """
            Environment variables passed to deployments run by `experimental-deploy` and
            `deploy-stacks`
            (`pants run` passes the whole environment). Add e.g. `AWS_WEB_IDENTITY_TOKEN_FILE`
            for CI credentials.
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
