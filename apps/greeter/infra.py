"""greeter's infrastructure: a Lambda function behind an API Gateway REST API."""

from troposphere import GetAtt, Join, Output, Ref, Sub, awslambda, apigateway, iam


def template(app):
    t = app.template
    code = app.asset(":lambda")
    role = t.add_resource(
        iam.Role(
            "HandlerRole",
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            ManagedPolicyArns=[
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ],
        )
    )
    fn = t.add_resource(
        awslambda.Function(
            "Handler",
            FunctionName=Sub("${AWS::StackName}-handler"),
            Runtime="python3.11",
            Handler="lambda_function.handler",  # the entry point Pants writes into the zip,
            Code=awslambda.Code(S3Bucket=code.bucket, S3Key=code.key),
            Role=GetAtt(role, "Arn"),
            MemorySize=256,
            Timeout=10,
            Environment=awslambda.Environment(Variables={"JITI_ENV": app.environment}),
        )
    )
    api = t.add_resource(apigateway.RestApi("Api", Name=Sub("${AWS::StackName}-api")))
    hello = t.add_resource(
        apigateway.Resource(
            "HelloResource", RestApiId=Ref(api), ParentId=GetAtt(api, "RootResourceId"), PathPart="hello"
        )
    )
    method = t.add_resource(
        apigateway.Method(
            "HelloGet",
            RestApiId=Ref(api),
            ResourceId=Ref(hello),
            HttpMethod="GET",
            AuthorizationType="NONE",
            Integration=apigateway.Integration(
                Type="AWS_PROXY",
                IntegrationHttpMethod="POST",
                Uri=Sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn}/invocations",
                    Fn=GetAtt(fn, "Arn"),
                ),
            ),
        )
    )
    t.add_resource(
        awslambda.Permission(
            "ApiInvokePermission",
            FunctionName=Ref(fn),
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*", Api=Ref(api)),
        )
    )
    t.add_resource(
        apigateway.Deployment("ApiDeployment", RestApiId=Ref(api), StageName="live", DependsOn=[method])
    )
    t.add_output(
        Output(
            "ApiUrl",
            Description="Base URL of the greeter API",
            Value=Join("", ["https://", Ref(api), ".execute-api.", Ref("AWS::Region"), ".amazonaws.com/live"]),
        )
    )
    return t
