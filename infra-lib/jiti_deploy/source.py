"""The source commit a deploy is made from, recorded on each stack (outputs `JitiCommit`,
`JitiCommitTime`, see record.py) so that an older commit never silently replaces a newer one."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    commit: str
    time: int  # the commit's time, in seconds since the epoch

    @property
    def short(self) -> str:
        return self.commit[:12]


def read(build_root: Path | None) -> Source | None:
    """HEAD of the git repository at `build_root`; None outside a git repository."""
    if build_root is None:
        return None
    try:
        fields = subprocess.run(
            ["git", "-C", str(build_root), "log", "-1", "--format=%H %ct"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        return Source(fields[0], int(fields[1]))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
