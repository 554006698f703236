"""greeter's infrastructure: one function behind an HTTP API."""

from jiti_infra import App, http_api, lambda_function


def template(app: App):
    fn = lambda_function(app, "Handler", asset=app.asset(":lambda"), memory=256)
    http_api(app, "Api", routes={"GET /hello": fn})
    return app.template
