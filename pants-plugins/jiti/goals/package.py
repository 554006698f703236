"""`pants package` for `cloudformation_stack`: write the synthesized stack's artifacts."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule

from jiti.target_types import (
    CloudFormationStackOutputPathField,
    CloudFormationStackSourceField,
)
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest


@dataclass(frozen=True)
class CloudFormationStackPackageFieldSet(PackageFieldSet):
    required_fields = (CloudFormationStackSourceField,)

    source: CloudFormationStackSourceField
    output_path: CloudFormationStackOutputPathField


@rule(desc="Package a CloudFormation stack")
async def package_stack(field_set: CloudFormationStackPackageFieldSet) -> BuiltPackage:
    stack = await Get(SynthesizedStack, SynthesizeStackRequest(field_set.address))
    return BuiltPackage(
        stack.digest,
        (
            BuiltPackageArtifact(
                stack.template_path, extra_log_lines=(f"version {stack.version[:12]}",)
            ),
            BuiltPackageArtifact(stack.manifest_path),
            *(BuiltPackageArtifact(path) for path in stack.asset_paths),
        ),
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, CloudFormationStackPackageFieldSet),
    ]
