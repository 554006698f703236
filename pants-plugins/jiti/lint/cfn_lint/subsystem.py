"""`[cfn-lint]`: the AWS CloudFormation linter, as a Pants tool with its own lockfile."""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import ConsoleScript
from pants.core.util_rules.config_files import ConfigFilesRequest
from pants.engine.rules import collect_rules
from pants.engine.target import BoolField, FieldSet, Target
from pants.option.option_types import ArgsListOption, BoolOption, FileOption, SkipOption
from pants.util.strutil import help_text

from jiti.target_types import CloudFormationStackSourceField, CloudFormationStackTarget

# Where cfn-lint looks for its configuration in the directory it runs in.
CONFIG_FILES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")


class SkipCfnLintField(BoolField):
    alias = "skip_cfn_lint"
    default = False
    help = help_text("If true, `pants lint` does not run cfn-lint on this stack's template.")


@dataclass(frozen=True)
class CfnLintFieldSet(FieldSet):
    required_fields = (CloudFormationStackSourceField,)

    source: CloudFormationStackSourceField

    @classmethod
    def opt_out(cls, tgt: Target) -> bool:
        return tgt.get(SkipCfnLintField).value


class CfnLint(PythonToolBase):
    options_scope = "cfn-lint"
    name = "cfn-lint"
    help = help_text(
        """
        The AWS CloudFormation linter (https://github.com/aws-cloudformation/cfn-lint), run by
        `pants lint` on the template synthesized for each `cloudformation_stack` (the same,
        cached template `pants package` writes). Findings name the stack's address and the
        template's logical id.
        """
    )

    default_version = "cfn-lint>=1.20,<2"
    default_main = ConsoleScript("cfn-lint")
    default_requirements = [default_version]

    register_interpreter_constraints = True
    # cfn-lint releases after 1.46 (newer resource specifications) need Python 3.10.
    default_interpreter_constraints = ["CPython>=3.10,<3.13"]

    default_lockfile_resource = ("jiti.lint.cfn_lint", "cfn_lint.lock")
    lockfile_rules_type = LockfileRules.SIMPLE

    skip = SkipOption("lint")
    args = ArgsListOption(example="--regions us-east-1 eu-west-1 --ignore-checks W3005")
    config = FileOption(
        default=None,
        advanced=True,
        help=lambda cls: help_text(
            f"""
            Path to a cfn-lint config file (YAML, as `.cfnlintrc`:
            https://github.com/aws-cloudformation/cfn-lint#config-file).

            Setting this option disables `[{cls.options_scope}].config_discovery`.
            """
        ),
    )
    config_discovery = BoolOption(
        default=True,
        advanced=True,
        help=lambda cls: help_text(
            f"""
            If true, use the build root's `{"`, `".join(CONFIG_FILES)}` when present, as
            cfn-lint does in the directory it runs in.

            Use `[{cls.options_scope}].config` instead if the config is somewhere else.
            """
        ),
    )

    @property
    def config_request(self) -> ConfigFilesRequest:
        return ConfigFilesRequest(
            specified=self.config,
            specified_option_name=f"[{self.options_scope}].config",
            discovery=self.config_discovery,
            check_existence=CONFIG_FILES,
        )


def rules():
    return [
        *collect_rules(),
        CloudFormationStackTarget.register_plugin_field(SkipCfnLintField),
    ]
