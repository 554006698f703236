"""jiti.lambda_fallback: Pants' own builders for the `python_awslambda` targets jiti's builder
does not cover: `[lambdex].layout = "lambdex"`, and a Lambda whose dependencies include a local
`python_distribution`.

A separate backend, because reaching Pants' builders adds about 50,000 steps to the rule graph
every Pants start builds (docs/scale.md, "Pants start"): enable it beside `jiti` only when a
Lambda needs it (jiti's error says which).
"""

from jiti.lambda_fallback import rules as fallback_rules


def rules():
    return fallback_rules.rules()
