# Confide's image: one image for every process, `confide serve` (the default command),
# `confide worker` and `confide db upgrade`. compose.yaml runs it; docs/deployment.md explains.
#
#   docker build -t confide .
#   docker run --rm -p 127.0.0.1:8000:8000 confide    # development settings, SQLite in /data
#
# Three stages: Node builds the web app, a Python stage builds the package into a virtualenv
# (compilers live only there), and the final stage is python:3.11-slim with that virtualenv
# and nothing else: no compiler, no Node, no package build tools.

# --- 1. The web app -------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
# Dependencies first, so this layer is reused until package-lock.json changes.
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
# web/vite.config.ts writes the build to ../src/confide/web/dist: /build/src/confide/web/dist.
RUN npm run build && test -f /build/src/confide/web/dist/index.html

# --- 2. The Python package, installed into /opt/confide ---------------------------------------
# The same base as the final stage, so the virtualenv's interpreter path and the C libraries
# the compiled wheels link against are the ones it will run with.
FROM python:3.11-slim-bookworm AS build
# A compiler for any dependency without a prebuilt wheel for this platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/confide
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src/ src/
# The built web app goes inside the package (pyproject's package-data: web/dist/**/*).
COPY --from=web /build/src/confide/web/dist/ src/confide/web/dist/
# A wheel, installed (not an editable install of the sources); then the check that the web
# app made it into the installed package.
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/confide/bin/pip install /wheels/confide-*.whl \
    && package="$(/opt/confide/bin/python -c 'import confide, os; print(os.path.dirname(confide.__file__))')" \
    && test -f "$package/web/dist/index.html"

# --- 3. What runs ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# uid 10001: above any uid a host's own accounts use, so files in a volume do not look like a
# real user's. /data is Confide's data directory, private to that user (Confide keeps it 0700).
RUN groupadd --gid 10001 confide \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin confide \
    && mkdir /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
COPY --from=build /opt/confide /opt/confide
ENV PATH=/opt/confide/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONFIDE_HOST=0.0.0.0 \
    CONFIDE_PORT=8000 \
    CONFIDE_DATA_DIR=/data
# Settings come from the environment; a `.env` mounted at /app/.env is read too.
WORKDIR /app
# A new named volume takes /data's owner and mode from the image.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
# Liveness, with Python's urllib (the image has no curl). The Host check applies to /api/health
# as to every request, so the probe names a host the server allows: the first plain entry of
# CONFIDE_ALLOWED_HOSTS (not a `*.` pattern, not an IPv6 literal), else `localhost`, which
# the default allow-list contains. compose.yaml's `web` healthcheck is this same command.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import json, os, urllib.request as u; h = os.environ.get('CONFIDE_ALLOWED_HOSTS', '').strip(); names = [n.strip() for n in (json.loads(h) if h.startswith('[') else h.split(','))]; host = next((n for n in names if n and '*' not in n and n.count(':') < 2), 'localhost'); u.urlopen(u.Request('http://127.0.0.1:' + os.environ.get('CONFIDE_PORT', '8000') + '/api/health', headers={'Host': host}), timeout=4)"]
ENTRYPOINT ["confide"]
CMD ["serve"]
