"""The deploy runtime: one packaged stack to one AWS account and region, with boto3."""
