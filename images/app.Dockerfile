# The one image every Helpline service runs from: `python -m app.<service>` (gateway, auth, sessions, chat, router,
# enginesim). Build from the repository root (the context must hold pyproject.toml, uv.lock and app/):
#
#   docker buildx build -f images/app.Dockerfile \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t helpline:dev .
#
# The context is filtered by images/app.Dockerfile.dockerignore (an allowlist): only the paths copied below reach
# the builder, so .git, .venv, build/, stack files and any local secret never do. Builds for linux/amd64 (the
# clusters' node pools); the base is a multi-arch index, so linux/arm64 builds too.
#
# Both stages use the same base, pinned by digest (see docs/delivery.md for where it came from and how Dependabot
# moves it): the virtualenv built in the first stage points at the second stage's interpreter at the same path.

FROM python:3.11-slim-trixie@sha256:9534e5a8e315485d4061ed659af0fd78a284c015f9b73661b41d6bab25604534 AS builder

# uv compiles every dependency to bytecode while installing; it never downloads a Python (the base has one).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/helpline/venv

# uv itself: the version the Makefile pins, hash-checked.
COPY images/uv-requirements.txt /tmp/uv-requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/uv-requirements.txt

WORKDIR /src

# Dependencies first (their layer is reused until the lock changes): the project's main dependencies only, exactly as
# uv.lock resolves them. No dev tools, no Pulumi (dependency groups dev and infra), not the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-group infra --no-install-project --compile-bytecode

# The services' code, compiled now: the runtime filesystem is read-only and PYTHONDONTWRITEBYTECODE keeps Python
# from trying. unchecked-hash .pyc files stay valid whatever timestamps the copies below give the sources.
COPY app/ ./app/
COPY images/healthcheck.py ./bin/healthcheck.py
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash app bin


FROM python:3.11-slim-trixie@sha256:9534e5a8e315485d4061ed659af0fd78a284c015f9b73661b41d6bab25604534 AS runtime

ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE=https://github.com/helpline-dev/helpline

LABEL org.opencontainers.image.title="helpline" \
      org.opencontainers.image.description="Helpline services (gateway, auth, sessions, chat, router, enginesim): python -m app.<service>" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="${SOURCE}/blob/main/docs/delivery.md" \
      org.opencontainers.image.vendor="Helpline" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-trixie" \
      org.opencontainers.image.base.digest="sha256:9534e5a8e315485d4061ed659af0fd78a284c015f9b73661b41d6bab25604534"

# HELPLINE_HOST: listen on the pod's address (the services default to loopback outside a container).
# HOME and TMPDIR: /tmp, the one writable place (an emptyDir in the pods; the root filesystem is read-only).
ENV PATH="/opt/helpline/venv/bin:${PATH}" \
    PYTHONPATH=/opt/helpline \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    HELPLINE_HOST=0.0.0.0 \
    HELPLINE_PORT=8080 \
    HOME=/tmp \
    TMPDIR=/tmp

# A named user for the UID the pods run as (infra/k8s/security.py DEFAULT_UID), without a home or a shell; pip,
# setuptools and wheel leave the final image: nothing installs packages at run time.
RUN groupadd --system --gid 10001 helpline \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin helpline \
    && python -m pip uninstall --yes --quiet pip setuptools wheel

# Root-owned and read-only to the service user: the code cannot be changed by the process that runs it.
COPY --from=builder /opt/helpline/venv /opt/helpline/venv
COPY --from=builder /src/app /opt/helpline/app
COPY --from=builder /src/bin /opt/helpline/bin

WORKDIR /opt/helpline
USER 10001:10001
EXPOSE 8080

# Liveness on loopback (/healthz on HELPLINE_PORT, or HELPLINE_HEALTHCHECK_URL for the engine simulator's /health).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/helpline/bin/healthcheck.py"]

# The public gateway by default; every Deployment names its service (`python -m app.<service>`).
CMD ["python", "-m", "app.gateway"]
