"""Policy-check exceptions a block makes by design, written into the resource's own metadata.

checkov reads `Metadata.checkov.skip` on a resource; every entry carries the reason, so the
exception and its justification travel with the template and show in `pants lint` as skipped.
"""

from __future__ import annotations

from troposphere import AWSObject


def skip_checks(resource: AWSObject, reasons: dict[str, str]) -> AWSObject:
    """Skip the checkov checks in `reasons` (check id -> why) on `resource`."""
    if not all(reasons.values()):
        raise ValueError("every skipped check needs a reason")
    metadata = dict(getattr(resource, "Metadata", None) or {})
    checkov = dict(metadata.get("checkov", {}))
    checkov["skip"] = [
        *checkov.get("skip", []),
        *({"id": check, "comment": reason} for check, reason in sorted(reasons.items())),
    ]
    metadata["checkov"] = checkov
    resource.Metadata = metadata
    return resource
