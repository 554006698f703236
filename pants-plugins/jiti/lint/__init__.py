"""Linters for `cloudformation_stack` targets: each runs on the stack's synthesized template."""
