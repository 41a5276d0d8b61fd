"""Release automation (issue 19), the parts that run without Docker or a cluster:

- `.github/workflows/release.yml` passes actionlint (v1.7.12, built from the Go module proxy)
  and does what a release must: on a tag, both platforms, SBOM and provenance, cosign keyless
  signing of images and charts, charts pushed as OCI artifacts;
- scripts/release/push-charts.sh packages every chart at the release's version and pushes it
  to an OCI registry (go-containerregistry's, on loopback); `helm template oci://...` from it
  renders the release's images, under the default registry or global.imageRegistry.

tests/cluster/test-release.sh does the rest on the live cluster (images built and pushed to a
local registry, `helm install oci://...`, `helm upgrade` keeping MongoDB's data and credentials).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts_support import REPO, helm, run_checked, tools
from tests.support.processes import wait_for_port

WORKFLOW = REPO / ".github/workflows/release.yml"
VERSION = "7.8.9"


@cache
def release_tools() -> dict[str, str]:
    """Built by `scripts/test-prereqs.sh release` (the test only checks they are there)."""
    out = run_checked([str(REPO / "scripts/release/tools.sh"), "--check"])
    return dict(line.split("=", 1) for line in out.split())


def test_the_workflow_passes_actionlint() -> None:
    linter = release_tools()["ACTIONLINT"]
    assert "1.7.12" in subprocess.run([linter, "-version"], capture_output=True, text=True).stdout
    result = subprocess.run([linter, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs-on: [", 1)
    assert subprocess.run([linter, "-"], input=broken, capture_output=True,
                          text=True).returncode != 0  # the linter really reads it


def test_the_workflow_releases_signed_multi_arch_images_and_charts() -> None:
    flow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    assert flow[True]["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+*"]  # YAML reads `on` as True
    images, charts = flow["jobs"]["images"], flow["jobs"]["charts"]
    for job in (images, charts):
        assert job["permissions"] == {"contents": "read", "packages": "write",
                                      "id-token": "write"}  # id-token: cosign keyless
    runs = "\n".join(s.get("run", "") for s in images["steps"])
    assert "scripts/release/build-images.sh" in runs
    assert "--platforms linux/amd64,linux/arm64" in runs
    assert "cosign sign --yes" in runs
    uses = {s["uses"].split("@")[0] for s in images["steps"] if "uses" in s}
    assert {"docker/setup-qemu-action", "docker/setup-buildx-action",
            "sigstore/cosign-installer", "docker/login-action"} <= uses
    chart_runs = "\n".join(s.get("run", "") for s in charts["steps"])
    assert 'scripts/release/push-charts.sh' in chart_runs and "cosign sign --yes" in chart_runs
    build = (REPO / "scripts/release/build-images.sh").read_text()
    assert "--sbom=true --provenance=mode=max" in build


def test_the_build_script_refuses_a_version_that_is_not_semver() -> None:
    result = subprocess.run([str(REPO / "scripts/release/build-images.sh"), "v1", "127.0.0.1:1"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "not a SemVer" in result.stderr


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local OCI registry (loopback only, blobs on disk) for the test's pushes."""
    tmp = tmp_path_factory.mktemp("registry")
    log = (tmp / "log").open("wb")
    proc = subprocess.Popen([release_tools()["REGISTRY"], "-addr", "127.0.0.1:0",
                             "-dir", str(tmp / "blobs")], stdout=log, stderr=log)
    try:
        for _ in range(200):
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", (tmp / "log").read_text())
            if match:
                break
            assert proc.poll() is None, (tmp / "log").read_text()
            time.sleep(0.05)
        assert match, (tmp / "log").read_text()
        wait_for_port(int(match.group(1)), timeout=10)
        yield f"127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def pushed(registry: str) -> list[str]:
    result = subprocess.run(
        [str(REPO / "scripts/release/push-charts.sh"), VERSION, f"oci://{registry}/charts",
         "--plain-http"], capture_output=True, text=True, timeout=600,
        env={**os.environ, "HELM": tools()["HELM3"]})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_every_chart_is_pushed_at_the_release_version(registry: str, pushed: list[str]) -> None:
    names = [re.fullmatch(rf"oci://{registry}/charts/([a-z-]+):{VERSION}@sha256:[0-9a-f]{{64}}",
                          line) for line in pushed]
    assert all(names), pushed
    assert {m.group(1) for m in names if m} == {
        "chatbot", "chatbot-lib", "ui-service", "chat-service", "llm-service",
        "history-service", "mongodb", "redis"}
    catalog = subprocess.run([release_tools()["CRANE"], "catalog", registry, "--insecure"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert "charts/chatbot" in catalog
    assert not (REPO / "charts/chatbot/Chart.yaml").read_text().count(VERSION)  # checkout as is


def test_the_released_chart_installs_the_released_images(registry: str, pushed: list[str]) -> None:
    def images(*extra: str) -> set[str]:
        result = helm(tools()["HELM3"], "template", "r", f"oci://{registry}/charts/chatbot",
                      "--version", VERSION, "--plain-http", "-n", "chatbot", *extra)
        assert result.returncode == 0, result.stderr
        return {c["image"] for o in yaml.safe_load_all(result.stdout) if o
                and o["kind"] in ("Deployment", "StatefulSet", "Job")
                for c in o["spec"]["template"]["spec"]["containers"]}

    ours = {f"chatbot/{s}:{VERSION}" for s in ("ui-service", "chat-service", "llm-service",
                                                "history-service")}
    assert {f"ghcr.io/chatbot-platform/{i}" for i in ours} <= images()
    local = images("--set", "global.imageRegistry=127.0.0.1:5000")
    assert {f"127.0.0.1:5000/{i}" for i in ours} <= local
    standalone = helm(tools()["HELM3"], "template", "r", f"oci://{registry}/charts/mongodb",
                      "--version", VERSION, "--plain-http")
    job_images = re.findall(r'image: "([^"]+)"', standalone.stdout)
    assert f"ghcr.io/chatbot-platform/chatbot/ui-service:{VERSION}" in job_images  # secret Job


def test_helm_lint_passes_on_the_pulled_chart(registry: str, pushed: list[str],
                                             tmp_path: Path) -> None:
    pulled = helm(tools()["HELM3"], "pull", f"oci://{registry}/charts/chatbot", "--version",
                  VERSION, "--plain-http", "--untar", "-d", str(tmp_path))
    assert pulled.returncode == 0, pulled.stderr
    lint = helm(tools()["HELM3"], "lint", "--strict", str(tmp_path / "chatbot"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert (tmp_path / "chatbot/README.md").is_file()
