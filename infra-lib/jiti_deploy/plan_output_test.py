"""The plan as a pull-request comment: the blast radius in one line, a collapsible section per
stack that changes, within GitHub's comment limit (details go first, never a stack's header),
secrets masked and names inert."""

from __future__ import annotations

import json

from jiti_deploy import masking, plan_output


def change(lid: str, action: str = "Modify", replacement: str = "False", details=()) -> dict:
    return {
        "logical_id": lid,
        "type": "AWS::SQS::Queue",
        "action": action,
        "replacement": replacement,
        "scope": ["Properties"],
        "details": list(details),
    }


def detail(name: str, before: str, after: str) -> dict:
    return {
        "property": name,
        "attribute": "Properties",
        "before": before,
        "after": after,
        "replacement": "Never",
        "change_source": "DirectModification",
    }


def entry(stack: str, account: str, status: str, changes=(), broadening=()) -> dict:
    return {
        "address": f"apps/{stack}:deploy",
        "stack": stack,
        "target": "aws",
        "account": account,
        "region": "eu-west-2",
        "environment": "prod",
        "status": status,
        "live": (
            None
            if status == "new"
            else {"stack_id": "arn:s", "last_updated": "t", "version": "a" * 64}
        ),
        "new_version": "b" * 64,
        "changes": list(changes),
        "pending_inputs": [],
        "broadening": list(broadening),
        "error": None,
    }


def test_the_comment_is_headed_by_the_blast_radius_and_has_a_section_per_changing_stack():
    entries = [
        entry("shop", "111111111111", "changes", [change("A"), change("B", replacement="True")]),
        entry("orders", "111111111111", "changes", [change("C", "Remove")]),
        entry("mail", "222222222222", "new", [change("D", "Add")]),
        *(entry(f"calm-{n}", "111111111111", "unchanged") for n in range(12)),
    ]
    text = plan_output.markdown(entries)
    assert text.splitlines()[2] == (
        "3 stacks change in 2 accounts: 1 resources added, 1 modified, 1 replaced, 1 removed; "
        "12 selected deployments unchanged"
    )
    assert text.count("<details>") == 3 and "calm-0" not in text


def test_a_huge_plan_fits_a_comment_and_keeps_every_stack_s_header():
    long = "x" * 70
    many = [
        entry(
            f"stack-{n}",
            "111111111111",
            "changes",
            [change(f"Queue{i}", details=[detail("Policy", long, long + "y")]) for i in range(40)],
        )
        for n in range(60)
    ]
    full = plan_output._render(many, plan_output.FULL)
    assert len(full) > plan_output.MARKDOWN_LIMIT
    text = plan_output.markdown(many)
    assert len(text) <= plan_output.MARKDOWN_LIMIT
    assert all(f"<b>stack-{n}</b>" in text for n in range(60))
    assert "left out to fit a comment" in text
    fewer = plan_output.markdown(many[:12])
    assert "Property details were left out" in fewer and "| Modify | Queue0 |" in fewer


def test_secrets_are_masked_and_names_inert_in_both_outputs(tmp_path):
    masking.add(["hunter2-plan-secret"])
    flagged = {"logical_id": "Fn", "type": "AWS::IAM::Role", "kind": "iam-actions", "detail": "a"}
    e = entry(
        "shop",
        "111111111111",
        "changes",
        [change("Q", details=[detail("Name", "hunter2-plan-secret", "[x](http://evil)")])],
        [flagged],
    )
    e["address"] = "apps/shop:deploy@who=<b>@team</b>"
    text = plan_output.markdown([e])
    plan_output.write_json(tmp_path / "plan.json", [e])
    written = (tmp_path / "plan.json").read_text()
    assert "hunter2-plan-secret" not in text + written
    assert "`[x](http://evil)`" in text and "<b>@team" not in text and "&#64;team" in text
    assert "### Security" in text
    assert json.loads(written)["format"] == 1
