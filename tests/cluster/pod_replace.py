"""Delete one pod of a Deployment through the Kubernetes API and wait for its replacement.

    uv run python tests/cluster/pod_replace.py --kubeconfig K --namespace smoke --app httpecho

Exits non-zero unless a new pod (a different name) is Ready and the Deployment is back at
its full count of ready replicas within the timeout. Prints the time it took.
"""

from __future__ import annotations

import argparse
import sys
import time

from kubernetes import client, config


def is_ready(pod: client.V1Pod) -> bool:
    if pod.metadata is None or pod.metadata.deletion_timestamp is not None or pod.status is None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def ready_pods(core: client.CoreV1Api, namespace: str, app: str) -> set[str]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return {str(p.metadata.name) for p in pods if p.metadata is not None and is_ready(p)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--app", required=True, help="value of the pods' app label")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    api = config.new_client_from_config(config_file=args.kubeconfig)
    try:
        core = client.CoreV1Api(api)
        apps = client.AppsV1Api(api)
        replicas = apps.read_namespaced_deployment(args.app, args.namespace).spec.replicas
        before = ready_pods(core, args.namespace, args.app)
        if len(before) != replicas:
            print(f"expected {replicas} ready pods before the delete, got {sorted(before)}")
            return 1
        victim = sorted(before)[0]
        start = time.monotonic()
        core.delete_namespaced_pod(victim, args.namespace, grace_period_seconds=0)
        deadline = start + args.timeout
        while time.monotonic() < deadline:
            now = ready_pods(core, args.namespace, args.app)
            if victim not in now and len(now) == replicas:
                took = time.monotonic() - start
                print(f"deleted {victim}; replacement {sorted(now - before)} Ready in {took:.1f} s")
                return 0
            time.sleep(0.2)
        print(f"no Ready replacement for {victim} after {args.timeout} s")
        return 1
    finally:
        api.close()


if __name__ == "__main__":
    sys.exit(main())
