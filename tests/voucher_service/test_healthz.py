"""/healthz: 200 with per-check detail when the database and the broker answer, 503 when either does not.

Load balancers call it without credentials and act on the status code alone, so the status must be right and
the answer fast even when the broker is down. A failing check names only the exception's type; its message (hosts,
ports, users, paths) goes to the server log.
"""

from __future__ import annotations

import logging
import os
import time

import pytest
from django.db import OperationalError

from voucher_service import health

pytestmark = pytest.mark.django_db

# Nothing listens on port 1, so a connection is refused at once: "broker down" without waiting for a timeout.
DEAD_BROKER = "redis://:s3cret-in-url@127.0.0.1:1/0"


@pytest.fixture
def broker_conf(monkeypatch):
    """Point the Celery app at another broker for one test, then put the configured one back.

    (pytest's monkeypatch cannot undo attributes on Celery's lazy Settings object. And Celery reads the
    CELERY_BROKER_URL environment variable before its own config, so that has to follow too.)
    """
    conf = health.celery_app.conf
    saved = {key: conf.get(key) for key in ("broker_url", "broker_transport_options")}

    def configure(url: str, transport_options: dict | None = None) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        conf.update(broker_url=url)
        if transport_options is not None:
            conf.update(broker_transport_options=transport_options)

    yield configure
    conf.update(saved)


def _get(client):
    response = client.get("/healthz")
    return response, response.json()


def test_healthy_on_the_configured_broker(client):
    # In tests this is the embedded filesystem broker, or Redis when CELERY_BROKER_URL says so.
    response, body = _get(client)

    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["latency_ms"] >= 0
    assert "no-cache" in response["Cache-Control"]


def test_filesystem_broker_folders_are_checked(client, broker_conf, tmp_path, caplog):
    # Connecting to kombu's filesystem transport always "works"; the check must notice a missing queue folder.
    # given
    queue = tmp_path / "queue"
    queue.mkdir()
    broker_conf("filesystem://", {"data_folder_in": str(queue), "data_folder_out": str(queue)})
    response, body = _get(client)
    assert response.status_code == 200, body
    # when the queue folder goes away
    queue.rmdir()
    with caplog.at_level(logging.WARNING, logger="voucher_service.health"):
        response, body = _get(client)
    # then the probe sees the failure, and only the operator sees which folder
    assert response.status_code == 503
    assert body["checks"]["broker"] == {"ok": False, "error": "ConnectionError"}
    assert str(tmp_path) not in response.content.decode()
    assert "does not exist" in caplog.text
    assert str(queue) in caplog.text


@pytest.mark.redis
def test_healthy_on_redis(client, broker_conf):
    broker_conf(os.environ["CELERY_BROKER_URL"], {})
    response, body = _get(client)
    assert response.status_code == 200, body
    assert body["checks"]["broker"]["ok"] is True


def test_503_when_the_broker_is_down(client, broker_conf):
    broker_conf(DEAD_BROKER, {})

    started = time.monotonic()
    response, body = _get(client)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    # Neither the broker's address nor the credentials in its URL may reach an unauthenticated caller.
    assert "s3cret" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()
    # No retry back-off: a probe that hangs is as bad as one that fails.
    assert elapsed < 3


def test_503_when_the_database_check_raises(client, monkeypatch, caplog):
    # given a database that refuses connections, with a message naming its host, port and user
    message = 'connection to server at "db.internal" (10.0.0.5), port 5432 failed: role "voucher" does not exist'

    def database_down() -> None:
        raise OperationalError(message)

    monkeypatch.setitem(health.CHECKS, "database", database_down)
    # when
    with caplog.at_level(logging.WARNING, logger="voucher_service.health"):
        response, body = _get(client)
    # then the caller learns which check failed and the exception's type, nothing more
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["broker"]["ok"] is True
    for detail in ("db.internal", "10.0.0.5", "5432", "voucher"):
        assert detail not in response.content.decode()
    # and the server log has the whole exception, traceback included
    [record] = [r for r in caplog.records if r.name == "voucher_service.health"]
    assert record.levelno == logging.WARNING
    assert "database" in record.getMessage()
    assert message in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is OperationalError


def test_unauthenticated_get_and_head_allowed(client):
    # The default test client carries no session or token.
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200


def test_post_is_not_allowed(client):
    assert client.post("/healthz").status_code == 405


def test_the_bare_address_is_the_portal(client, plain_static_storage):
    response = client.get("/")
    assert response.status_code == 200
    assert 'href="/programs/"' in response.content.decode()


def test_the_api_docs_use_local_assets_only(client, settings):
    # Swagger UI comes from drf-spectacular-sidecar's static files, never from a CDN at run time.
    # Production settings (DATABASE_URL) name whitenoise's manifest storage, which needs the manifest that
    # collectstatic writes (the image build runs it; tests do not); the plain storage names the same files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.API_SCHEMA_PUBLIC = True  # production serves the docs to logged-in users only; the assets are the point
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn." not in page
