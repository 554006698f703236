import json

from jiti_deploy import report
from jiti_version import JITI_VERSION


def test_the_report_names_the_jiti_version_that_wrote_it(tmp_path):
    """An upgrade shows in the report of the first deploy after it (the stacks keep their
    record: the tool's version is not an output of theirs)."""
    path = tmp_path / "jiti-deploy-report.json"
    report.write(path, [], 0.5)
    assert json.loads(path.read_text())["jiti_version"] == JITI_VERSION
