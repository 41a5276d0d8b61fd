"""Keep the requirements whose environment markers hold inside the image.

pip download evaluates markers against the host interpreter, not the image's Python
(Debian bookworm: 3.11.2, where e.g. redis still needs async-timeout). So the locked list
is filtered here for the image's environment and then downloaded with --no-deps.

    python3 resolve_markers.py <requirements.txt> <python full version> <machine>
"""

from __future__ import annotations

import sys

from pip._vendor.packaging.markers import Marker


def main(path: str, python: str, machine: str) -> None:
    env = {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
    }
    with open(path, encoding="utf-8") as f:
        for line in f:
            requirement, _, marker = line.strip().partition(";")
            if not requirement or requirement.startswith(("#", "-")):
                continue
            if not marker.strip() or Marker(marker.strip()).evaluate(env):
                print(requirement.strip())


if __name__ == "__main__":
    main(*sys.argv[1:4])
