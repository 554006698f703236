"""Deploy failures: each carries the message a user needs, including how to recover."""


class DeployError(Exception):
    """The deployment did not happen or did not finish; the message says what to do next."""
