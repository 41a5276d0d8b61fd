"""Schema-driven fuzzing (schemathesis) of the HTTP services' OpenAPI: never a 500.

Every operation of the history, LLM and UI services gets a bounded number of generated
requests against the running processes, with the internal token (and a user id where the
operation takes one); no response may be a server error.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.stack import Stack

EXAMPLES_PER_OPERATION = 12


def fuzz_service(base_url: str, internal_token: str) -> dict[str, int]:
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", timeout=10)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, base_url
    failures: list[str] = []
    counts: dict[str, int] = {}
    for operation in operations:
        name = f"{operation.method.upper()} {operation.path}"
        counts[name] = 0
        _fuzz_operation(operation, name, base_url, internal_token, counts, failures)()
    assert failures == [], failures
    return counts


def _fuzz_operation(
    operation: Any,
    name: str,
    base_url: str,
    internal_token: str,
    counts: dict[str, int],
    failures: list[str],
) -> Any:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        headers = {"Authorization": f"Bearer {internal_token}"}
        if not (case.headers or {}).get("X-User-Id"):
            headers["X-User-Id"] = "guest-schemathesis"
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        counts[name] += 1
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{name}: {response.status_code} {response.text[:300]}")

    return check


@pytest.mark.parametrize("service", ["history", "llm", "ui"])
def test_no_server_error_from_generated_requests(stack: Stack, service: str) -> None:
    proc = {"history": stack.history, "llm": stack.llm, "ui": stack.ui}[service]
    counts = fuzz_service(proc.url, stack.internal_token)
    assert all(n >= 1 for n in counts.values()), counts
