"""`pants tailor` and `pants lint` end to end: the sample apps pass both, and a new template with
mistakes gets its stack from `tailor`, then fails `lint` naming the stack and the logical ids."""

from __future__ import annotations

import json

BROKEN_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        # cfn-lint: a number that is not one.
        "Orders": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"SqsManagedSseEnabled": True, "VisibilityTimeout": "soon"},
        },
        # checkov: a role allowed every action.
        "Admin": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "all",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                        },
                    }
                ],
            },
        },
    },
}


def test_sample_apps_pass_and_a_broken_template_fails_naming_its_stack(make_repo):
    repo = make_repo()
    repo.pants("tailor", "--check", "::")
    repo.pants("lint", "::")

    repo.write("apps/broken/stack.template.json", json.dumps(BROKEN_TEMPLATE, indent=2))
    tailored = repo.pants("tailor", "::")
    assert "Created apps/broken/BUILD" in tailored.stdout
    assert (repo.root / "apps/broken/BUILD").read_text() == (
        'cloudformation_stack(\n    name="stack",\n    source="stack.template.json",\n)\n'
    )

    result = repo.pants("lint", "apps::", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "apps/broken:stack: Orders: E3012 'soon' is not of type 'integer'" in output
    assert "apps/broken:stack: Admin (AWS::IAM::Role): CKV_AWS_63 " in output
    findings = [line for line in output.splitlines() if line.startswith("apps/")]
    assert findings and all(line.startswith("apps/broken:stack: ") for line in findings)
    assert "Traceback" not in output
