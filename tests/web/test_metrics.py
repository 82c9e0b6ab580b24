"""GET /metrics: for Prometheus with the bearer token, or for a signed-in staff member."""

import pytest
import redis

from calls import metrics

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_counts_from_earlier_tests(settings):
    redis.Redis.from_url(settings.REDIS_URL).delete(metrics.PLACED_KEY, metrics.FAILED_KEY, metrics.CPS_KEY)


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    return settings.METRICS_TOKEN


def test_it_serves_prometheus_with_the_bearer_token(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    for name in ["dialer_media_streams_live", "dialer_media_streams_capacity",
                 "dialer_event_loop_lag_seconds", "dialer_outbound_frame_gap_seconds",
                 "dialer_turn_latency_seconds", "dialer_status_callback_backlog", "dialer_cps_waits_total"]:
        assert f"# TYPE {name} " in body


def test_it_refuses_a_missing_or_wrong_token(client, token):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")


def test_with_no_token_set_only_staff_may_read_it(client, staff, stranger, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    client.force_login(stranger)
    assert client.get("/metrics").status_code == 401
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_dials_counted_by_workers_are_reported_per_campaign(client, token):
    metrics.count_dial("summer_sale", placed=True)
    metrics.count_dial("summer_sale", placed=True)
    metrics.count_dial("summer_sale", placed=False)
    metrics.count_cps_wait(0.75)

    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content.decode()

    assert 'dialer_calls_placed_total{campaign="summer_sale"} 2.0' in body
    assert 'dialer_calls_failed_total{campaign="summer_sale"} 1.0' in body
    assert "dialer_cps_waits_total 1.0" in body
    assert "dialer_cps_wait_seconds_total 0.75" in body
