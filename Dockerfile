# syntax=docker/dockerfile:1
# Build: the dependencies from the lock into /opt/venv, with uv (pinned like everything else).
FROM python:3.13-slim AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install "uv==0.13.8"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Runtime: the slim image, the venv and the source, whose defaults (settings.toml,
# hypercorn.toml) ship inside the package; pyproject.toml gives the version that /v1/health and
# the OpenAPI document report (the project itself is not installed). /app is the working
# directory: an operator's settings.toml or hypercorn.toml mounted there refines the defaults,
# and data/ (the SQLite default) is there. The repository's settings.toml (development and test
# keys) stays out of the image.
FROM python:3.13-slim
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app gateway
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY pyproject.toml ./
COPY quart_llm ./quart_llm
# Compiled once here: with PYTHONDONTWRITEBYTECODE every start would compile the sources again.
RUN python -m compileall -q --invalidation-mode unchecked-hash quart_llm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    QUART_LLM_ENV=production
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/v1/health/live', timeout=2).status == 200 else 1)"]
# A configuration mistake stops the container with one clear line before serving.
CMD ["python", "-m", "quart_llm", "serve"]
