"""`destroy-stacks` refuses in one line, before the runtime is built or anything is read: a
deployment of a protected environment (unless `--jiti-destroy-protected`), and one whose stack's
place is unknown."""

from __future__ import annotations

from jiti.goals.destroy_stacks import DestroyStacks
from jiti.testutil import BASE_OPTIONS, ENV_INHERIT, make_rule_runner

OPTIONS = [*BASE_OPTIONS, "--jiti-repository=shop"]


def destroy(files: dict[str, str], spec: str):
    """`destroy-stacks spec` in a repository of `files`."""
    runner = make_rule_runner()
    runner.write_files(files)
    return runner.run_goal_rule(
        DestroyStacks, global_args=OPTIONS, args=[spec], env_inherit=ENV_INHERIT
    )


def test_a_protected_deployment_is_refused_in_one_line_naming_it():
    result = destroy(
        {
            "apps/a/BUILD": 'cloudformation_stack(name="stack", source="t.json")\n'
            'cloudformation_deployment(name="dev", stack=":stack", environment="dev")\n'
            'cloudformation_deployment(name="prod", stack=":stack", environment="prod")\n',
            "apps/a/t.json": "{}",
        },
        "apps/a::",
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "destroy-stacks: apps/a:prod (prod): a protected environment "
        "([jiti].protected_environments); add --jiti-destroy-protected to destroy it"
    )


def test_a_deployment_whose_stack_is_not_a_stack_is_refused_in_one_line():
    result = destroy(
        {
            "apps/b/BUILD": 'files(name="lib", sources=["t.json"])\n'
            'cloudformation_deployment(name="deploy", stack=":lib")\n',
            "apps/b/t.json": "{}",
        },
        "apps/b:deploy",
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "destroy-stacks: apps/b:deploy: field `stack`: apps/b:lib is not a `cloudformation_stack`"
    )
