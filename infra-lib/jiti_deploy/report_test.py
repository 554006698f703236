"""The summary shows, under its table, the outputs of a preview's stacks: the URLs a reviewer
opens, with secrets masked."""

from __future__ import annotations

from jiti_deploy import masking
from jiti_deploy.report import Outcome, Result, summary


def outcome(stack: str, outputs: dict, preview: str | None) -> Outcome:
    return Outcome(
        f"apps/{stack}:deploy", stack, "local", "1", "r", Result.DEPLOYED, "a", "b", 1.0,
        outputs=outputs, preview=preview,
    )  # fmt: skip


def test_the_summary_lists_the_outputs_of_preview_stacks_only():
    masking.add(["s3cr3t-token"])
    text = summary(
        [
            outcome("site-pr-7", {"SiteUrl": "https://pr-7.example.com", "Key": "s3cr3t-token"}, "pr-7"),
            outcome("site-dev", {"SiteUrl": "https://dev.example.com"}, None),
        ]
    )  # fmt: skip
    lines = text.splitlines()
    assert lines[-3:] == [
        "outputs of the preview pr-7:",
        "  site-pr-7: Key = ****",
        "  site-pr-7: SiteUrl = https://pr-7.example.com",
    ]
    assert "dev.example.com" not in text


def test_a_summary_without_previews_ends_with_its_table():
    text = summary([outcome("site-dev", {"SiteUrl": "https://dev.example.com"}, None)])
    assert text.splitlines()[-1].startswith("apps/site-dev:deploy")
