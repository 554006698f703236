"""site's infrastructure: a website bucket filled from the packaged static files."""

from jiti_infra import App, static_site


def template(app: App):
    static_site(app, "Site", content=app.asset("apps/site/static:static"))
    return app.template
