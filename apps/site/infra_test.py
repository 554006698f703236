from apps.site.infra import template
from jiti_infra.testing import synthesize


def test_template_names_its_content():
    t = synthesize(
        template,
        name="site",
        address="apps/site:stack",
        assets=("apps/site/static:static",),
    )
    assert t["Metadata"]["jiti:site-content"][0]["BucketOutput"] == "SiteName"
    assert {"SiteName", "SiteUrl"} <= set(t["Outputs"])
