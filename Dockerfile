# syntax=docker/dockerfile:1
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
    DJANGO_SETTINGS_MODULE=kb.settings
RUN groupadd --system kb && useradd --system --gid kb --home /app --shell /usr/sbin/nologin kb
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=kb:kb . /app
# collectstatic needs settings but no database or real secret.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/media && chown kb:kb /app/media
USER kb
EXPOSE 8000
ENTRYPOINT ["gunicorn", "--config", "gunicorn.conf.py", "kb.wsgi:application"]
