"""Errors for user mistakes: one clear line naming the target and field."""


class JitiError(Exception):
    """A mistake in a jiti target or its inputs, reported without a Python traceback."""
