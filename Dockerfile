# Enlist in one container: gunicorn (web), an RQ worker and the embedded Redis, all started by
# `enlist serve`; the database, keys and Redis's append-only file live on the /data volume.
#   docker build -t enlist .
#   docker run -d --name enlist -p 8000:8000 -v enlist-data:/data enlist
# For PostgreSQL and a shared Redis, pass DATABASE_URL and REDIS_URL (see README).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ENLIST_INSTANCE_PATH=/data ENLIST_HOST=0.0.0.0 ENLIST_PORT=8000

WORKDIR /srv/enlist
COPY pyproject.toml README.md ./
COPY app ./app
COPY wsgi.py worker.py ./
RUN pip install --upgrade pip && pip install . \
 && useradd --system --home-dir /data --uid 10001 enlist \
 && mkdir -p /data && chown enlist /data

USER enlist
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"
STOPSIGNAL SIGTERM
CMD ["enlist", "serve", "--web-workers", "3", "--workers", "2"]
