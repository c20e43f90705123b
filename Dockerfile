# syntax=docker/dockerfile:1
# Build stage: dependencies into a virtualenv, so the runtime image carries no pip cache or build tools.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=kb.settings \
    GUNICORN_BIND=0.0.0.0:8000
# Pillow lays out right-to-left titles on social cards (articles/cards.py) with libraqm, which
# needs FriBiDi from the system; without it Arabic and Hebrew are drawn unshaped.
RUN apt-get update && apt-get install -y --no-install-recommends libfribidi0 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system kb && useradd --system --gid kb --home /app --shell /usr/sbin/nologin kb
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=kb:kb . /app
# Hashed, compressed static files are part of the image (WhiteNoise serves
# them with far-future cache headers); collectstatic needs settings but no
# database and no real secret.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/media && chown kb:kb /app/media
USER kb
EXPOSE 8000
# Ready = the database answers and every migration is applied (kb/health.py).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3).status != 200)"]
# gunicorn finishes requests in flight on SIGTERM (graceful_timeout in gunicorn.conf.py).
STOPSIGNAL SIGTERM
ENTRYPOINT ["gunicorn", "--config", "gunicorn.conf.py", "kb.wsgi:application"]
