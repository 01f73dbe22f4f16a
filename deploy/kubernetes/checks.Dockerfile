# The checks service (smoke, security and load suites) for the cluster path. Build it from the same
# commit as the application image and give it the same tag, so that each stage's checks scan the
# very source that the stage runs:
#   docker build -f deploy/kubernetes/checks.Dockerfile -t <your registry>/planning-poker/checks:"$(git rev-parse HEAD)" .
# The repository-wide requirements.lock pins every package of the three distributions with hashes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8090

WORKDIR /srv/planning-poker

COPY requirements.lock ./requirements.lock
RUN pip install --require-hashes --no-deps -r requirements.lock

# The app's source and lock stay in the image: the security suite scans them.
COPY app/pyproject.toml app/requirements.lock ./app/
COPY app/src ./app/src
COPY checks/pyproject.toml ./checks/pyproject.toml
COPY checks/src ./checks/src
RUN pip install --no-deps ./app ./checks

RUN groupadd --system --gid 10001 checks \
    && useradd --system --uid 10001 --gid checks --home-dir /nonexistent --shell /usr/sbin/nologin checks

USER 10001:10001
EXPOSE 8090

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8090'), timeout=2)"]

CMD ["sh", "-c", "exec poker-checks serve --host 0.0.0.0 --port \"$PORT\""]
