"""The deploy runtime: packaged stacks to AWS accounts and regions, with boto3.

The Pants plugin runs it as a pex (`python -m jiti_deploy`); it is the only part of jiti that
talks to AWS. It is kept apart from `jiti_infra`, the building blocks apps import, so it
starts without troposphere.
"""
