# voucher_service: one image for the web server, the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Run the source tree in /app, not the copy pip puts in site-packages: settings find locale/, fixtures and
    # templates relative to the source tree, and `pip install .` packages only the Python modules.
    PYTHONPATH=/app \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them. The exact versions come
# from requirements.lock (the same pins CI tests with).
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.in \
    && pip install -c requirements.lock -r /tmp/requirements.in \
    && rm /tmp/requirements.in

COPY . .
RUN pip install -c requirements.lock .

# Collect static files with the production storage (hashed names plus a manifest, served by whitenoise).
# Importing settings in production mode needs a DATABASE_URL, a SECRET_KEY, a PERSONAL_ID_HMAC_KEY and a
# LEDGER_SIGNING_KEY; collectstatic uses none of them, and none of these values ends up in the image.
RUN DATABASE_URL=postgres://collectstatic@localhost/unused \
    SECRET_KEY=collectstatic-only-never-used-to-sign-anything-0123456789abcdef \
    PERSONAL_ID_HMAC_KEY=collectstatic-only-never-used-to-hash-anything-0123456789abcdef \
    LEDGER_SIGNING_KEY=collectstatic-only-never-used-to-seal-anything-0123456789abcdef \
    python manage.py collectstatic --noinput --verbosity 0

# Never run as root. var/ is the one place the app writes (the beat schedule).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var \
    && chown app /app/var
USER app

EXPOSE 8000
# The number of workers and threads is a deployment choice: override with GUNICORN_CMD_ARGS.
CMD ["gunicorn", "voucher_service.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
