"""Write each chart's values.schema.json from its documented values.yaml.

Each value's `# --` comment becomes its `description` (editors show it). The defaults give
the types; maps left empty by default (annotations, labels, resources …)
and lists stay free-form; every other object is closed (additionalProperties: false), so a
misspelt value fails `helm lint`/`install` instead of being ignored. A few fields get tighter
rules below. `python charts/tools/values_schema.py --check` fails when a schema is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from values_docs import value_docs, write_or_check

CHARTS = Path(__file__).resolve().parents[1]

# Tighter rules for some paths (dot-joined keys).
OVERRIDES: dict[str, dict[str, Any]] = {
    "image.tag": {"type": "string", "not": {"const": "latest"}},
    "image.digest": {"type": "string", "pattern": "^(sha256:[0-9a-f]{64})?$"},
    "image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "service.port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "service.type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
    "service.sessionAffinity": {"enum": ["None", "ClientIP"]},
    "replicaCount": {"type": "integer", "minimum": 0},
    "logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
    "podDisruptionBudget.minAvailable": {"type": ["integer", "string"]},
    "podDisruptionBudget.maxUnavailable": {"type": ["integer", "string"]},
    "replicaSet.members": {"type": "integer", "minimum": 1},
    "takeoverMode": {"enum": ["continue", "interrupt"]},
    "mongodb.writeConcern": {"type": ["string", "integer"]},
    "mongodb.readConcern": {"enum": ["local", "majority", "available", "linearizable"]},
    "localModel.name": {"enum": ["qwen2.5-0.5b", "qwen2.5-coder-1.5b"]},
    "fallbacks": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["baseUrl", "model"],
            "properties": {
                key: {"type": "string"}
                for key in ("name", "baseUrl", "model", "existingSecret", "apiKeyKey")
            },
            "additionalProperties": False,
        },
    },
}
# Objects that take keys beyond their documented ones (their documented ones still typed).
OPEN = {"global"}


def infer(value: Any, path: str, docs: dict[str, str], closed: bool = True) -> dict[str, Any]:
    schema = _infer(value, path, docs, closed)
    if path in docs:
        schema = {"description": docs[path], **schema}
    return schema


def _infer(value: Any, path: str, docs: dict[str, str], closed: bool) -> dict[str, Any]:
    if path in OVERRIDES:
        return dict(OVERRIDES[path])
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        if not value:
            return {"type": "object"}
        props = {
            k: infer(v, f"{path}.{k}" if path else k, docs, closed) for k, v in value.items()
        }
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if closed and path not in OPEN:
            schema["additionalProperties"] = False
        return schema
    return {}


def schema_for(chart: Path) -> dict[str, Any]:
    values = yaml.safe_load((chart / "values.yaml").read_text()) or {}
    chart_yaml = yaml.safe_load((chart / "Chart.yaml").read_text())
    subcharts = {d["name"] for d in chart_yaml.get("dependencies", [])}
    docs = value_docs(chart / "values.yaml")
    schema = infer(values, "", docs)
    for name in subcharts:
        # The subchart validates its own section with its own schema.
        schema["properties"][name] = {
            "description": f"Values of the {name} chart (its own schema applies).",
            "type": "object",
        }
    schema["properties"].setdefault("global", {"type": "object"})
    # The umbrella's dependency condition (<chart>.enabled) lands in every subchart's values.
    schema["properties"].setdefault("enabled", {"type": "boolean"})
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": chart.name, **schema}


def main(check: bool) -> int:
    charts = sorted(p.parent for p in CHARTS.glob("*/values.yaml"))
    files = {c / "values.schema.json": json.dumps(schema_for(c), indent=2) + "\n" for c in charts}
    return write_or_check(files, "values_schema.py", check)


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
