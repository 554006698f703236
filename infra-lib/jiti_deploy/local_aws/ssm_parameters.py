"""An SSM parameter without a `Name` gets one, and keeps it (fix 26 of `fidelity`).

`Name` of `AWS::SSM::Parameter` is optional: CloudFormation names the parameter itself, and
changing its `Value` updates it in place (only a new `Name` replaces it). moto's CloudFormation
makes a name for it but passes `None` to PutParameter, which fails (`'NoneType' object has no
attribute 'lower'`), so the stack rolls back; and an update would give it a new name each time.
"""

from __future__ import annotations

from moto.ssm import models


def _named(original):
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if not properties.get("Name"):
            properties = {**properties, "Name": resource_name}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)

    return classmethod(create)


def _keeping_its_name(original):
    def update(cls, original_resource, new_resource_name, cloudformation_json, *args, **kwargs):
        if not cloudformation_json.get("Properties", {}).get("Name"):
            new_resource_name = original_resource.name
        return original(original_resource, new_resource_name, cloudformation_json, *args, **kwargs)

    return classmethod(update)


def apply() -> None:
    parameter = models.Parameter
    parameter.create_from_cloudformation_json = _named(parameter.create_from_cloudformation_json)
    parameter.update_from_cloudformation_json = _keeping_its_name(
        parameter.update_from_cloudformation_json
    )
