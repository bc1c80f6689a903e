# One Rapport node. docker-compose.yml runs two of these behind Caddy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs: never the local .venv or caches. The runtime lock first, so the
# dependency layer is rebuilt only when the lock changes.
COPY requirements/runtime.lock ./requirements/
RUN pip install -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY telehealth ./telehealth
COPY signaling ./signaling
COPY rapport_sdk ./rapport_sdk
COPY static ./static

# Editable on purpose: telehealth/web/pages.py serves the pages from the repository's static/
# directory (next to the package), which a plain `pip install .` would leave behind.
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin rapport

USER rapport
EXPOSE 8080

# SIGTERM (docker stop) starts a graceful shutdown: the node stops listening and closes open
# sockets with 1001 and `reconnect: true`, so browsers come back through another node.
CMD ["telehealth", "serve", "--host", "0.0.0.0"]
