"""Target types: `cloudformation_stack` (what to build) and its fields."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from pants.core.goals.package import OutputPathField
from pants.engine.addresses import Address, AddressInput
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    AsyncFieldMixin,
    BoolField,
    Dependencies,
    DictStringToStringField,
    Field,
    IntField,
    InvalidFieldException,
    InvalidTargetException,
    SingleSourceField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.frozendict import FrozenDict
from pants.util.strutil import help_text

from jiti_contract import (
    ASSUME_ROLE_PLACEHOLDERS,
    PARAMETER_PLACEHOLDERS,
    SSM_INPUT_PREFIX,
    STACK_NAME_PLACEHOLDERS,
    PlaceholderError,
    check_placeholders,
)

STACK_NAME_PATTERN = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")  # matched whole (fullmatch)


def _check_placeholders(field: str, address: Address, value: str, allowed: tuple) -> None:
    try:
        check_placeholders(value, allowed)
    except PlaceholderError as e:
        raise InvalidFieldException(f"The `{field}` field of {address}: {e}.") from None


TROPOSPHERE_EXTENSIONS = (".py",)
PLAIN_TEMPLATE_EXTENSIONS = (".json", ".yaml", ".yml")


class CloudFormationStackSourceField(SingleSourceField):
    alias = "source"
    required = True
    expected_file_extensions = TROPOSPHERE_EXTENSIONS + PLAIN_TEMPLATE_EXTENSIONS
    help = help_text(
        """
        The stack's infrastructure code, relative to the BUILD file.

        Either a Python module written with troposphere that defines `template(app)` and returns
        `app.template` (the module must also be owned by a `python_source`/`python_sources`
        target, so its imports are followed), or an existing CloudFormation template as
        `.json`, `.yaml` or `.yml`.
        """
    )

    @property
    def is_troposphere(self) -> bool:
        return self.file_path.endswith(TROPOSPHERE_EXTENSIONS)


class CloudFormationStackDependenciesField(Dependencies):
    help = help_text(
        """
        Targets the stack is built from.

        Every dependency that can be packaged (such as a `python_awslambda` or an `archive`) is
        built in the same run and becomes a content-addressed asset: the infra module refers to
        it as `app.asset(":name")`, the template carries its S3 key, and its content is part of
        the stack's version. The infra module and jiti's own library are inferred; list only
        the packaged parts of the app here.
        """
    )


class StackAppField(StringField, AsyncFieldMixin):
    alias = "app"
    deprecated_alias = "stack_name"
    deprecated_alias_removal_version = "3.0.0.dev0"
    help = help_text(
        """
        The app's name: the infra module sees it as `app.name`, resource names and the
        `jiti:app` tag use it, and deployments name their stack after it (`{app}` in their
        `stack_name`, `<app>-<environment>` by default).

        Defaults to the BUILD file's directory name, followed by `-<target name>` when the
        target is not named `stack` or after its directory (`apps/greeter:stack` is `greeter`).
        Letters, digits and hyphens, starting with a letter, at most 128 characters; it must
        be unique among all `cloudformation_stack` targets.
        """
    )

    def value_or_default(self) -> str:
        if self.value is not None:
            return self.value
        directory = os.path.basename(self.address.spec_path) or "root"
        name = directory
        if self.address.target_name not in ("stack", directory):
            name = f"{directory}-{self.address.target_name}"
        return re.sub(r"[^-A-Za-z0-9]", "-", name)

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not STACK_NAME_PATTERN.fullmatch(value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}: an app name has letters, "
                "digits and hyphens only, starts with a letter, and has at most 128 characters."
            )
        return value


class CloudFormationStackTagsField(DictStringToStringField):
    alias = "stack_tags"
    help = help_text(
        """
        Tags to put on the stack when it is deployed (CloudFormation passes them on to the
        resources that support tags), e.g. `{"team": "payments"}`. Recorded in the manifest.
        """
    )


class CloudFormationStackOutputPathField(OutputPathField):
    help = help_text(
        """
        Where to write the stack's artifacts, without extension, relative to `--distdir`.

        Defaults to `<path.to.build.dir>/<target name>`, giving
        `dist/apps.greeter/stack.template.json`, `stack.manifest.json` and the assets in
        `stack.assets/`.
        """
    )


class CloudFormationStackTarget(Target):
    alias = "cloudformation_stack"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CloudFormationStackSourceField,
        CloudFormationStackDependenciesField,
        StackAppField,
        CloudFormationStackTagsField,
        CloudFormationStackOutputPathField,
    )
    help = help_text(
        """
        An app's CloudFormation stack, versioned with the app.

        `pants package` synthesizes the template (from a troposphere module or a plain
        template), packages its dependencies as content-addressed assets, and writes
        `<name>.template.json` and `<name>.manifest.json`. The manifest's `version` is a
        sha256 over the canonical template and every asset, so the same inputs always give
        the same version and byte-identical files, and any change to infra code, app code or
        locked requirements that reaches the template or an asset gives a new one.

        Its `description` field becomes the template's Description unless the template sets one.
        """
    )


# --- cloudformation_deployment ------------------------------------------------------------

DEFAULT_CAPABILITIES = (
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
)


class DeploymentStackField(StringField, AsyncFieldMixin):
    alias = "stack"
    required = True
    help = help_text(
        """
        The address of the `cloudformation_stack` to deploy, e.g. `:stack`. It becomes a
        dependency, so a change to the stack (or anything it is built from) selects this
        deployment under `--changed-since`.
        """
    )


class DeploymentDependenciesField(Dependencies):
    help = help_text(
        """
        Extra dependencies. The `stack` and jiti's deploy runtime are added automatically.
        """
    )


class DeploymentStackNameField(StringField):
    alias = "stack_name"
    default = "{app}-{env}"
    help = help_text(
        """
        The CloudFormation stack name in the target account and region. `{app}` is the
        stack target's `app` and `{env}` the `environment` (no other placeholders), so each
        app and environment gets its own isolated stack.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        _check_placeholders(cls.alias, address, value, STACK_NAME_PLACEHOLDERS)
        return value


class DeploymentEnvironmentField(StringField):
    alias = "environment"
    default = "dev"
    help = help_text(
        """
        The environment this deployment is (dev, staging, prod, ...): passed to the template
        as its `Environment` parameter, used in resource names, and tagged as `jiti:env`.
        Lowercase letters, digits and hyphens.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}: use lowercase letters, digits "
                "and hyphens, starting with a letter."
            )
        return value


class DeploymentRegionField(StringField):
    alias = "region"
    help = help_text(
        """
        The AWS region to deploy to. Defaults to `AWS_REGION`/`AWS_DEFAULT_REGION`, then
        `us-east-1`.
        """
    )


class DeploymentAccountField(StringField):
    alias = "account"
    help = help_text(
        """
        The 12-digit AWS account to deploy to, reached by assuming `assume_role` in it. Leave
        unset to deploy with the current credentials' account. To deploy one app to many
        accounts and regions, parametrize: `account=parametrize("111111111111",
        "222222222222"), region=parametrize("us-east-1", "eu-west-1")` gives one deployment
        (and one isolated stack) per account and region, all deployed by one
        `pants deploy-stacks apps/greeter:` with each account's credentials assumed once.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not re.fullmatch(r"[0-9]{12}", value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}: an AWS account id has 12 digits."
            )
        return value


class DeploymentAssumeRoleField(StringField):
    alias = "assume_role"
    default = "arn:{partition}:iam::{account}:role/jiti-deploy"
    help = help_text(
        """
        The role assumed to deploy into `account` (`{account}` is filled in, and `{partition}`
        with the partition of the deployment's region: `aws`, `aws-cn` in China, `aws-us-gov`
        in GovCloud). Used only when `account` is set.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        _check_placeholders(cls.alias, address, value, ASSUME_ROLE_PLACEHOLDERS)
        return value


class DeploymentStackSetAccountsField(StringSequenceField):
    alias = "stack_set_accounts"
    help = help_text(
        """
        StackSets mode, for large fan-out: deploy the stack as one CloudFormation StackSet
        (self-managed permissions) from the current account, with one instance in each of
        these accounts and each of `stack_set_regions`. CloudFormation rolls it out with the
        operation preferences below. Leave unset for a plain stack.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        bad = [a for a in value or () if not re.fullmatch(r"[0-9]{12}", a)]
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {', '.join(map(repr, bad))}: an AWS "
                "account id has 12 digits."
            )
        return value


class DeploymentStackSetRegionsField(StringSequenceField):
    alias = "stack_set_regions"
    help = help_text(
        "StackSets mode: the regions to create instances in (see `stack_set_accounts`)."
    )


class _BoundedIntField(IntField):
    """An int from 0 to `highest`; `unit` ends the error message."""

    highest: int
    unit: str

    @classmethod
    def compute_value(cls, raw_value: Optional[int], address: Address) -> int:
        value = super().compute_value(raw_value, address)
        if not 0 <= value <= cls.highest:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value}: {cls.unit}."
            )
        return value


class _PercentageField(_BoundedIntField):
    highest = 100
    unit = "a percentage from 0 to 100"


class DeploymentStackSetMaxConcurrentField(_PercentageField):
    alias = "stack_set_max_concurrent_percentage"
    default = 25
    help = help_text(
        """
        StackSets mode: the percentage of accounts deployed to at once, per region (1 to 100;
        at least one account). It holds whatever `stack_set_failure_tolerance_percentage` is
        (CloudFormation's `SOFT_FAILURE_TOLERANCE` concurrency mode; its default mode would
        deploy to at most failure tolerance + 1 accounts at once).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[int], address: Address) -> int:
        value = super().compute_value(raw_value, address)
        if value == 0:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is 0: at least one account must deploy at a time."
            )
        return value


class DeploymentStackSetFailureToleranceField(_PercentageField):
    alias = "stack_set_failure_tolerance_percentage"
    default = 0
    help = help_text(
        """
        StackSets mode: the percentage of accounts that may fail, per region, before the
        rollout stops there (0 to 100). It does not lower the concurrency: the accounts already
        being deployed to when the rollout stops finish, so more may fail than this allows.
        """
    )


class DeploymentParametersField(DictStringToStringField):
    alias = "parameters"
    help = help_text(
        """
        Values for the template's parameters, e.g. `{"LogRetentionDays": "30"}`. A value may
        use `{account}`, `{region}` and `{env}`, so one deployment target serves every
        account and region (e.g. `{"DomainPrefix": "shop-{region}"}`). `Environment` and
        `AssetsBucket` are set by jiti. A name the template does not declare is an error.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Dict[str, str]], address: Address
    ) -> Optional[FrozenDict[str, str]]:
        value = super().compute_value(raw_value, address)
        for name, text in (value or {}).items():
            _check_placeholders(
                f"{cls.alias}` value `{name}", address, text, PARAMETER_PLACEHOLDERS
            )
        return value


# An output's name, as CloudFormation allows it (a logical id: letters and digits).
OUTPUT_NAME_PATTERN = re.compile(r"[A-Za-z0-9]{1,255}")  # matched whole (fullmatch)


@dataclass(frozen=True)
class OutputReference:
    """An input taken from another deployment's stack output: `<address>.<OutputName>`."""

    address: str  # the producer deployment, as written (relative to the BUILD file)
    output: str


@dataclass(frozen=True)
class SsmReference:
    """An input taken from a plain SSM Parameter Store value: `ssm:<name>`."""

    name: str


def parse_input(text: str):
    """An `inputs` value as an OutputReference or an SsmReference; ValueError says why not."""
    if text.startswith(SSM_INPUT_PREFIX):
        name = text[len(SSM_INPUT_PREFIX) :]
        if not name:
            raise ValueError(f"{text!r} names no SSM parameter (e.g. `ssm:/shop/{{env}}/limit`)")
        try:
            check_placeholders(name, PARAMETER_PLACEHOLDERS)
        except PlaceholderError as e:
            raise ValueError(str(e)) from None
        return SsmReference(name)
    address, dot, output = text.rpartition(".")
    if not (dot and address and OUTPUT_NAME_PATTERN.fullmatch(output)):
        raise ValueError(
            f"{text!r} is neither `<deployment address>.<OutputName>` (e.g. "
            "`apps/orders:deploy.OrdersTableArn`) nor `ssm:<parameter name>`"
        )
    return OutputReference(address, output)


class DeploymentInputsField(DictStringToStringField):
    alias = "inputs"
    help = help_text(
        """
        Template parameters whose values jiti looks up when it deploys, e.g.
        `{"OrdersTableArn": "apps/orders:deploy.OrdersTableArn"}`. A value is either

        - another deployment's stack output, `"<deployment address>.<OutputName>"`: read from
          the live stack with that deployment's credentials, so it works across accounts and
          regions, without CloudFormation exports. That deployment becomes a dependency:
          `deploy-stacks` deploys it first, and `--changed-dependents` selects this one when
          it changes. Name a parametrized deployment without parameters to take the copy
          matching this one (the same `account` and `region`, as Pants fills in parameters),
          or name one copy, e.g. `apps/orders:prod@account=111111111111,region=us-east-1.OrdersTableArn`;
        - or a plain SSM Parameter Store value, `"ssm:<name>"` (`{account}`, `{region}`
          and `{env}` are filled in), read in this deployment's account and region. A
          SecureString is refused: jiti never reads secrets; refer to them in the template
          with CloudFormation dynamic references (`{{resolve:ssm-secure:...}}`,
          `{{resolve:secretsmanager:...}}`).

        The values are part of the deployment's config hash (NoEcho ones only keyed with a
        key kept off the stack), so it is redeployed exactly when one changes. In `infra.py`, declare
        each with `app.input("Name")`. A dry run shows a value that does not exist yet as
        pending; a deploy refuses it. A parameter is set either here or in `parameters`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Dict[str, str]], address: Address
    ) -> Optional[FrozenDict[str, str]]:
        value = super().compute_value(raw_value, address)
        for name, text in (value or {}).items():
            try:
                reference = parse_input(text)
                if isinstance(reference, OutputReference):
                    AddressInput.parse(
                        reference.address,
                        relative_to=address.spec_path,
                        description_of_origin=f"the `{cls.alias}` field of {address}",
                    )
            except Exception as e:  # noqa: BLE001 - Pants' own address syntax errors too
                raise InvalidFieldException(
                    f"The `{cls.alias}` field of {address}: {name}: {e}"
                ) from None
        return value

    def references(self) -> tuple[tuple[str, OutputReference | SsmReference], ...]:
        """Each input's parameter and where its value comes from, sorted by parameter."""
        return tuple((name, parse_input(text)) for name, text in sorted((self.value or {}).items()))


class DeploymentTagsField(DictStringToStringField):
    alias = "stack_tags"
    help = help_text(
        """
        Tags for the deployed stack, added to the stack target's `stack_tags`; CloudFormation
        puts them on every resource that takes tags. jiti adds only tags that stay the same
        from deploy to deploy: `jiti:app`, `jiti:env`, `jiti:deployment` (this target's
        address), `jiti:repository` (`[jiti].repository`) and `jiti:depends-on` (the
        deployments listed in `dependencies`). The version, config hash and commit deployed
        are outputs of the stack instead (`JitiVersion`, `JitiConfig`, `JitiCommit`,
        `JitiCommitTime`), so a deploy re-tags nothing.
        """
    )


class DeploymentRoleArnField(StringField):
    alias = "role_arn"
    help = help_text(
        """
        An IAM role CloudFormation assumes to create the stack's resources (its service role).
        Leave unset to use the deploying credentials.
        """
    )


class DeploymentTerminationProtectionField(BoolField):
    alias = "termination_protection"
    default = False
    help = help_text("Turn on termination protection once the stack is deployed.")


class DeploymentCapabilitiesField(StringSequenceField):
    alias = "capabilities"
    default = DEFAULT_CAPABILITIES
    valid_choices = DEFAULT_CAPABILITIES
    help = help_text(
        """
        The most the deployment may acknowledge the template does. Each deploy acknowledges
        only what its template needs: `CAPABILITY_IAM` for IAM resources,
        `CAPABILITY_NAMED_IAM` when one has a custom name (`RoleName`, ...), and for a template
        with macros or nested stacks, whose resources only CloudFormation knows, everything
        allowed here. A template with a transform (e.g. `Transform: AWS::Serverless-2016-10-31`)
        is always deployed with `CAPABILITY_AUTO_EXPAND`, which CloudFormation needs to expand
        it. A template needing more than this is refused before anything is written.
        """
    )


class DeploymentStackPolicyField(AsyncFieldMixin, Field):
    alias = "stack_policy"
    default = None
    value: Union[str, FrozenDict, None]
    help = help_text(
        """
        The stack policy: which updates CloudFormation may make to which resources, set when
        the stack is created and before each update. By default a stack holding data (a
        resource whose `DeletionPolicy` is `Retain` or `RetainExceptOnCreate`, such as the
        tables and buckets of jiti's building blocks) gets one that allows every update except
        replacing or deleting those resources (`Update:Replace`, `Update:Delete`); other stacks
        get none. Give a policy document (a dict) or the path of a JSON file holding one,
        relative to the BUILD file, to use it instead, e.g. to let a migration replace a table:
        `{"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*",
        "Resource": "*"}]}`. Part of the config hash: a change to it redeploys the stack.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Any], address: Address
    ) -> Union[str, FrozenDict, None]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        if isinstance(value, str):
            if not value.endswith(".json"):
                raise InvalidFieldException(
                    f"The `{cls.alias}` field of {address} is {value!r}: give a policy document "
                    "(a dict) or the path of a `.json` file, relative to the BUILD file."
                )
            return value
        if not isinstance(value, dict) or "Statement" not in value:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must be a policy document with a "
                '`Statement` (e.g. {"Statement": [...]}) or the path of a `.json` file.'
            )
        return FrozenDict.deep_freeze(value)

    @property
    def file_path(self) -> Optional[str]:
        """The policy file's path from the build root, when the field names one."""
        if not isinstance(self.value, str):
            return None
        return os.path.normpath(os.path.join(self.address.spec_path, self.value))


class DeploymentRollbackAlarmsField(StringSequenceField):
    alias = "rollback_alarms"
    help = help_text(
        """
        CloudWatch alarms (ARNs, or names in the stack's account and region) that roll an
        update back when one goes into ALARM during it or during
        `rollback_monitoring_minutes` after it (CloudFormation rollback triggers; at most 5).
        Part of the config hash.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        if value and len(value) > 5:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {len(value)} alarms: CloudFormation "
                "takes at most 5 rollback triggers."
            )
        bad = [a for a in value or () if a.startswith("arn:") and ":cloudwatch:" not in a]
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {', '.join(map(repr, bad))}: a "
                "rollback trigger is a CloudWatch alarm (arn:aws:cloudwatch:...:alarm:NAME, or "
                "NAME)."
            )
        return value


class DeploymentRollbackMonitoringField(_BoundedIntField):
    alias = "rollback_monitoring_minutes"
    default = 0
    help = help_text(
        """
        How long CloudFormation keeps watching `rollback_alarms` after the stack's resources
        are updated, in minutes (0 to 180). Part of the config hash.
        """
    )
    highest = 180
    unit = "from 0 to 180 minutes"


class DeploymentNotificationArnsField(StringSequenceField):
    alias = "notification_arns"
    help = help_text(
        """
        SNS topic ARNs that receive the stack's events (at most 5). Part of the config hash.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        bad = [
            a
            for a in value or ()
            if not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[^\s]+", a)
        ]
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {', '.join(map(repr, bad))}: an SNS "
                "topic ARN looks like arn:aws:sns:REGION:ACCOUNT:NAME."
            )
        if value and len(value) > 5:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {len(value)} topics: at most 5."
            )
        return value


class DeploymentDisableRollbackField(BoolField):
    alias = "disable_rollback"
    default = False
    help = help_text(
        """
        Leave a failed create or update as it failed instead of rolling it back, to look at
        the failed resources (for debugging a dev stack). Refused for environments listed in
        `[jiti].protected_environments` (`prod` by default). Part of the config hash.
        """
    )


class CloudFormationDeploymentTarget(Target):
    alias = "cloudformation_deployment"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        DeploymentStackField,
        DeploymentDependenciesField,
        DeploymentStackNameField,
        DeploymentEnvironmentField,
        DeploymentRegionField,
        DeploymentAccountField,
        DeploymentAssumeRoleField,
        DeploymentStackSetAccountsField,
        DeploymentStackSetRegionsField,
        DeploymentStackSetMaxConcurrentField,
        DeploymentStackSetFailureToleranceField,
        DeploymentParametersField,
        DeploymentInputsField,
        DeploymentTagsField,
        DeploymentRoleArnField,
        DeploymentTerminationProtectionField,
        DeploymentCapabilitiesField,
        DeploymentStackPolicyField,
        DeploymentRollbackAlarmsField,
        DeploymentRollbackMonitoringField,
        DeploymentNotificationArnsField,
        DeploymentDisableRollbackField,
    )
    help = help_text(
        """
        Deploys a `cloudformation_stack` to one AWS account and region as one CloudFormation
        stack, with boto3.

        `pants run <address>` deploys it (add `-- --dry-run` to only show the change set);
        `pants deploy-stacks <specs>` deploys every selected deployment in one process (one
        read of what is live per account and region, dependencies first, independent ones in
        parallel, a summary table and `dist/jiti-deploy-report.json`), and is the command for CI
        with `--changed-since`; `pants experimental-deploy <specs>` works too, one process per
        deployment. `--jiti-dry-run` only shows the change sets. The stack is packaged first;
        assets are uploaded to a content-addressed bucket per account and region; nothing at
        all is done when the live stack already carries the same version and settings.

        Deployments go where `[jiti].target` says: the embedded local AWS (a moto server jiti
        starts on 127.0.0.1; the default) or the AWS account of the configured credentials.
        """
    )

    def validate(self) -> None:
        accounts = self[DeploymentStackSetAccountsField].value
        regions = self[DeploymentStackSetRegionsField].value
        if bool(accounts) != bool(regions):
            raise InvalidTargetException(
                f"{self.address}: fields `stack_set_accounts` and `stack_set_regions`: "
                "StackSets mode needs both"
            )
        if accounts and self[DeploymentAccountField].value:
            raise InvalidTargetException(
                f"{self.address}: field `account`: a StackSet is deployed from the current "
                "account; list target accounts in `stack_set_accounts` instead"
            )
        if accounts:
            for field in (
                DeploymentStackPolicyField,
                DeploymentRollbackAlarmsField,
                DeploymentNotificationArnsField,
                DeploymentDisableRollbackField,
            ):
                if self[field].value:
                    raise InvalidTargetException(
                        f"{self.address}: field `{field.alias}`: not supported in StackSets "
                        "mode (`stack_set_accounts`), which CloudFormation rolls out itself"
                    )
        inputs = self[DeploymentInputsField].value or {}
        if inputs and accounts:
            raise InvalidTargetException(
                f"{self.address}: field `inputs`: a StackSet's instances share their parameter "
                "values, so they cannot each take the inputs of their own account and region"
            )
        both = sorted(set(inputs) & set(self[DeploymentParametersField].value or {}))
        if both:
            raise InvalidTargetException(
                f"{self.address}: field `inputs`: {', '.join(both)} also set in `parameters`; "
                "set each parameter in one of them"
            )
