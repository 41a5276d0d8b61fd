"""Every chart lints with both Helm majors and renders valid Kubernetes objects; the charts'
schemas, READMEs and value docs are current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.charts_support import ALL_CHARTS, CHARTS, CI_VALUES, CRD_KINDS, REPO, helm, render, tools

K8S_VERSION = "1.33.0"


@pytest.mark.parametrize("helm_bin", ["HELM3", "HELM4"])
@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_lint_strict(charts: Path, chart: str, helm_bin: str) -> None:
    result = helm(tools()[helm_bin], "lint", "--strict", str(charts / chart))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_umbrella_lints_with_each_scenario(charts: Path, values: Path) -> None:
    for helm_bin in ("HELM3", "HELM4"):
        result = helm(
            tools()[helm_bin], "lint", "--strict", str(charts / "chatbot"), "-f", str(values)
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_helm4_renders_what_helm3_renders(charts: Path) -> None:
    for values in (None, *CI_VALUES):
        kinds = [
            sorted((o["kind"], o["metadata"]["name"]) for o in render(charts, "chatbot", values, h))
            for h in ("HELM3", "HELM4")
        ]
        assert kinds[0] == kinds[1]


def test_every_object_is_valid_kubernetes_1_33(rendered: dict[str, list[dict[str, Any]]]) -> None:
    checked = 0
    for objects in rendered.values():
        for obj in objects:
            if obj["kind"] in CRD_KINDS:
                continue
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            checked += 1
    assert checked > 100


def test_values_schemas_are_current() -> None:
    result = subprocess.run([sys.executable, str(CHARTS / "tools/values_schema.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_chart_readmes_are_current() -> None:
    result = subprocess.run([sys.executable, str(CHARTS / "tools/chart_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_schemas_describe_every_documented_value() -> None:
    schema = json.loads((CHARTS / "chat-service/values.schema.json").read_text())
    assert schema["properties"]["image"]["properties"]["digest"]["description"].startswith(
        "Image digest")
    assert "CHAT_PUBLIC_URL" not in json.dumps(schema)
    ui = json.loads((CHARTS / "ui-service/values.schema.json").read_text())
    assert ui["properties"]["chatPublicUrl"]["description"].startswith("CHAT_PUBLIC_URL")


def test_packaged_dependencies_are_not_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "charts"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not [p for p in tracked if p.endswith((".tgz", "Chart.lock"))]
    for chart in ALL_CHARTS:
        meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
        assert meta["home"] and meta["sources"] and meta["maintainers"], chart


def test_every_value_is_documented() -> None:
    """Every leaf value has a `# --` comment, on itself or on a map above it."""
    sys.path.insert(0, str(CHARTS / "tools"))
    from values_docs import value_docs

    def leaves(node: Any, path: str) -> list[str]:
        if isinstance(node, dict) and node:
            return [p for k, v in node.items() for p in leaves(v, f"{path}.{k}" if path else k)]
        return [path]

    for path in CHARTS.glob("*/values.yaml"):
        docs = value_docs(path)
        for leaf in leaves(yaml.safe_load(path.read_text()), ""):
            parts = leaf.split(".")
            assert any(".".join(parts[:n]) in docs for n in range(1, len(parts) + 1)), (
                f"{path}: {leaf} has no # -- comment")
