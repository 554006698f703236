import pytest
from troposphere import sqs

from jiti_infra.constructs.policy import skip_checks


def test_skipped_checks_keep_their_reasons_and_existing_metadata():
    q = sqs.Queue("Q", Metadata={"team": "a", "checkov": {"skip": [{"id": "X", "comment": "x"}]}})
    skip_checks(q, {"CKV_AWS_27": "test data only"})
    assert q.to_dict()["Metadata"] == {
        "team": "a",
        "checkov": {
            "skip": [
                {"id": "X", "comment": "x"},
                {"id": "CKV_AWS_27", "comment": "test data only"},
            ]
        },
    }


def test_a_skipped_check_needs_a_reason():
    with pytest.raises(ValueError, match="needs a reason"):
        skip_checks(sqs.Queue("Q"), {"CKV_AWS_27": ""})
