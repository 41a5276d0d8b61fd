# The two commands of the README: `make run` and `make test`. Everything installs itself.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
# pytest processes of `make test` (pytest-xdist): the suite mostly waits on the processes it
# starts, so two overlap those waits on two cores; TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

.PHONY: help setup run test lint clean monitor test-images kind-up deploy undeploy dev \
	cluster-up cluster-down test-cluster bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## install Python and npm dependencies (fast when already installed)
	@scripts/setup.sh python --group local-model
	@scripts/setup.sh web

run: setup ## start the whole system locally on http://localhost:8080 (Ctrl-C stops it)
	@$(UV) run --frozen --no-sync python scripts/run_local.py

lint: setup ## ruff and mypy
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync mypy

test: setup ## install what the tests need (scripts/test-prereqs.sh) and run the whole suite
	@scripts/test-prereqs.sh
	@$(MAKE) --no-print-directory lint
	$(UV) run --frozen --no-sync pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: setup ## benchmarks against the fake upstream: results/*.json, PNG plots, a summary table
	@scripts/test-prereqs.sh debian
	@scripts/bench.sh $(BENCH_ARGS)

monitor: ## Prometheus on http://127.0.0.1:9090 scraping make run (Ctrl-C stops it)
	@scripts/monitor.sh

test-images: setup ## build the four Docker images (own dockerd) and run a conversation through them
	@scripts/images/test-images.sh

cluster-up: ## a real single-node Kubernetes cluster on this Linux machine (root; builds once)
	@k8s/local/up.sh

cluster-down: ## stop it and leave nothing behind
	@k8s/local/down.sh

test-cluster: setup ## live acceptance on the local cluster (root): install, kill pods, chaos, upgrade, nothing left
	@tests/cluster/test-cluster.sh

kind-up: ## kind cluster + Traefik (MONITORING=1: + kube-prometheus-stack); needs Docker and kind
	@k8s/kind-up.sh

deploy: ## build images, load them into kind, helm upgrade --install with k8s/values-kind.yaml
	@k8s/deploy.sh

undeploy: ## helm uninstall (DELETE_CLUSTER=1: also delete the kind cluster)
	@k8s/undeploy.sh

dev: ## kind + Tilt live-update loop
	@k8s/dev.sh

clean: ## remove local state and caches of the working tree (not ~/.cache)
	rm -rf .data .test-logs test-artifacts .pytest_cache .mypy_cache .ruff_cache
