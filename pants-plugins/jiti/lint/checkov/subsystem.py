"""`[checkov]`: the policy checker (e.g. encryption, least privilege), as a Pants tool with its
own lockfile."""

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

# Where checkov looks for its configuration in the directory it runs in.
CONFIG_FILES = (".checkov.yaml", ".checkov.yml")


class SkipCheckovField(BoolField):
    alias = "skip_checkov"
    default = False
    help = help_text("If true, `pants lint` does not run checkov on this stack's template.")


@dataclass(frozen=True)
class CheckovFieldSet(FieldSet):
    required_fields = (CloudFormationStackSourceField,)

    source: CloudFormationStackSourceField

    @classmethod
    def opt_out(cls, tgt: Target) -> bool:
        return tgt.get(SkipCheckovField).value


class Checkov(PythonToolBase):
    options_scope = "checkov"
    name = "checkov"
    help = help_text(
        """
        The checkov policy checker (https://www.checkov.io), run by `pants lint` on the
        template synthesized for each `cloudformation_stack`: an unencrypted queue, a public
        bucket or a role allowed `*` fails the lint, naming the stack's address and the
        resource's logical id.

        Skip a check everywhere with `skip-check` in `.checkov.yaml` (one comment per check
        saying why), or on one resource with its `Metadata`: `{"checkov": {"skip": [{"id":
        "CKV_AWS_18", "comment": "why"}]}}`.
        """
    )

    default_version = "checkov>=3.2,<4"
    default_main = ConsoleScript("checkov")
    default_requirements = [default_version]

    register_interpreter_constraints = True
    default_interpreter_constraints = ["CPython>=3.9,<3.13"]

    default_lockfile_resource = ("jiti.lint.checkov", "checkov.lock")
    lockfile_rules_type = LockfileRules.SIMPLE

    skip = SkipOption("lint")
    args = ArgsListOption(example="--skip-check CKV_AWS_18,CKV_AWS_21 --check CKV_AWS_27")
    config = FileOption(
        default=None,
        advanced=True,
        help=lambda cls: help_text(
            f"""
            Path to a checkov config file (YAML, as `.checkov.yaml`:
            https://www.checkov.io/2.Basics/CLI%20Command%20Reference.html), e.g. with a
            `skip-check` list.

            Setting this option disables `[{cls.options_scope}].config_discovery`.
            """
        ),
    )
    config_discovery = BoolOption(
        default=True,
        advanced=True,
        help=lambda cls: help_text(
            f"""
            If true, use the build root's `{"` or `".join(CONFIG_FILES)}` when present, as
            checkov does in the directory it runs in.

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
        CloudFormationStackTarget.register_plugin_field(SkipCheckovField),
    ]
