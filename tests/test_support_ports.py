"""The test ports: two test processes on one machine never get the same one."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import REPO_ROOT, _unreserved_range, free_port

HOLDER = """
import sys
from tests.support.processes import free_port
print(" ".join(str(free_port()) for _ in range(400)), flush=True)
sys.stdin.read()  # hold the reservations until the test is done
"""


def test_ports_reserved_by_another_process_are_never_handed_out() -> None:
    # 400 ports each out of ~22,000: without the reservation about 7 would be shared.
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=REPO_ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    ) as holder:
        assert holder.stdout is not None
        try:
            theirs = {int(p) for p in holder.stdout.readline().split()}
            ours = {free_port() for _ in range(400)}
        finally:
            holder.kill()
    assert len(theirs) == len(ours) == 400
    assert not theirs & ours
    assert all(p in _unreserved_range() for p in theirs | ours)  # never an ephemeral port
