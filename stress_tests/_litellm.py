"""LiteLLM's proxy as a comparison point, kept in its OWN virtualenv (never the project's).

``ensure_litellm()`` creates ``~/.cache/chatbot/litellm-venv`` and installs the pinned
``litellm[proxy]`` from PyPI there once; ``start_litellm()`` runs its proxy on loopback in front
of one OpenAI-compatible upstream. No database, no telemetry, and the model cost
map read from the package (no network fetch at start).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.processes import Proc, start_process

LITELLM_VERSION = "1.108.7"
VENV = Path.home() / ".cache" / "chatbot" / "litellm-venv"
CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {api_base}
      api_key: unused
litellm_settings:
  telemetry: false
  drop_params: true
  set_verbose: false
"""


def ensure_litellm() -> Path:
    """Return the ``litellm`` executable, installing it into its own venv if needed."""
    exe = VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    VENV.parent.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    spec = f"litellm[proxy]=={LITELLM_VERSION}"
    if uv:
        subprocess.run([uv, "venv", "-q", "-p", "3.11", str(VENV)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(VENV / "bin" / "python"), spec],
            check=True,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", spec], check=True)
    return exe


def start_litellm(upstream_v1: str, model: str, workdir: Path, master_key: str) -> Proc:
    """LiteLLM's proxy (one worker) forwarding ``model`` to ``upstream_v1``.

    It refuses to start without a master key: callers send ``Bearer <master_key>``.
    """
    exe = ensure_litellm()
    config = workdir / "litellm.yaml"
    config.write_text(CONFIG.format(model=model, api_base=upstream_v1))
    return start_process(
        "litellm",
        [str(exe), "--config", str(config), "--host", "127.0.0.1", "--num_workers", "1"],
        env={
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "ERROR",
            "LITELLM_MASTER_KEY": master_key,
            "VIRTUAL_ENV": str(VENV),
        },
        health_path="/health/liveliness",
        timeout=180,
    )
