"""Prometheus metrics (prometheus-client), served by every web process at GET /metrics.

Two kinds:
- this process's own: its live and refused media streams, its event-loop lag, and the outbound
  frame gaps and turn latencies of the calls it holds (botruntime's observer hooks);
- the deployment's, kept in Redis because workers do that work and have no endpoint: calls
  placed and failed per campaign, waits for a calls-per-second token, the status-callback
  backlog. Every web process reports the same values for these: aggregate them with max(),
  not sum()."""

from __future__ import annotations

import logging

import redis
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from botruntime import observers
from calls import capacity, status_stream
from common.redis_client import shared_redis

logger = logging.getLogger(__name__)

PLACED_KEY = "dialer:metrics:calls-placed"  # hash: campaign label -> count
FAILED_KEY = "dialer:metrics:calls-failed"
CPS_KEY = "dialer:metrics:cps-waits"  # hash: waits, seconds

STREAMS_LIVE = Gauge("dialer_media_streams_live", "Media streams (calls) this process holds now.")
STREAMS_CAPACITY = Gauge("dialer_media_streams_capacity", "MEDIA_STREAMS_PER_PROCESS of this process.")
DRAINING = Gauge("dialer_web_draining", "1 while this process drains (refuses new streams, then exits).")
STREAMS_ACCEPTED = Counter("dialer_media_streams_accepted", "Media streams this process accepted.")
STREAMS_REFUSED = Counter("dialer_media_streams_refused",
                          "Media streams this process refused before accepting them.", ["reason"])
LOOP_LAG = Histogram("dialer_event_loop_lag_seconds",
                     "How late this process's event loop woke the lag probe.",
                     buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))
FRAME_GAP = Histogram("dialer_outbound_frame_gap_seconds",
                      "Between two 20 ms audio frames sent to Twilio within one stretch of bot speech.",
                      buckets=(0.005, 0.01, 0.02, 0.025, 0.03, 0.04, 0.06, 0.1, 0.2, 0.5))
TURN_LATENCY = Histogram("dialer_turn_latency_seconds", "Caller stops speaking -> the bot's first audio.",
                         buckets=(0.25, 0.5, 0.7, 0.9, 1.2, 1.6, 2.0, 3.0, 5.0, 10.0))


def count_dial(campaign_label: str, *, placed: bool) -> None:
    """A dial's verdict, for every web process to report (called by the dialer in workers)."""
    try:
        shared_redis().hincrby(PLACED_KEY if placed else FAILED_KEY, campaign_label or "(no campaign)", 1)
    except redis.RedisError:
        logger.warning("Could not count a dial in Redis", exc_info=True)


def count_cps_wait(seconds: float) -> None:
    """A dial waited this long for a calls-per-second token."""
    try:
        with shared_redis().pipeline() as pipe:
            pipe.hincrby(CPS_KEY, "waits", 1)
            pipe.hincrbyfloat(CPS_KEY, "seconds", seconds)
            pipe.execute()
    except redis.RedisError:
        logger.warning("Could not count a calls-per-second wait in Redis", exc_info=True)


class DeploymentCollector:
    """Read at each scrape from Redis, where the workers counted."""

    def describe(self):
        return []  # nothing is known before a scrape reads Redis

    def collect(self):
        client = shared_redis()
        try:
            placed, failed, cps = (client.hgetall(PLACED_KEY), client.hgetall(FAILED_KEY),
                                   client.hgetall(CPS_KEY))
            backlog = status_stream.backlog()
        except redis.RedisError:
            logger.warning("Could not read the deployment's metrics from Redis", exc_info=True)
            return
        for name, help_text, counts in [
            ("dialer_calls_placed", "Calls Twilio accepted, per campaign (all workers).", placed),
            ("dialer_calls_failed", "Dials refused by Twilio or failed, per campaign (all workers).", failed),
        ]:
            family = CounterMetricFamily(name, help_text, labels=["campaign"])
            for label, count in sorted(counts.items()):
                family.add_metric([label.decode()], float(count))
            yield family
        yield CounterMetricFamily("dialer_cps_waits", "Dials that had to wait for a calls-per-second token.",
                                  value=float(cps.get(b"waits", 0)))
        yield CounterMetricFamily("dialer_cps_wait_seconds", "Time dials spent waiting for a token.",
                                  value=float(cps.get(b"seconds", 0)))
        yield GaugeMetricFamily("dialer_status_callback_backlog", "Status callbacks waiting to be applied.",
                                value=backlog["entries"])
        yield GaugeMetricFamily("dialer_status_callback_oldest_seconds",
                                "Age of the oldest status callback waiting.", value=backlog["oldest_seconds"])


_installed = False


def install() -> None:
    """Attach the metrics to this process (once): the gauges read its load, the histograms
    hear the lag probe and every bot session."""
    global _installed
    if _installed:
        return
    _installed = True
    load = capacity.this_process()
    STREAMS_LIVE.set_function(lambda: load.live)
    STREAMS_CAPACITY.set_function(lambda: load.capacity)
    DRAINING.set_function(lambda: int(load.draining))
    observers.frame_gap.append(FRAME_GAP.observe)
    observers.turn_latency.append(TURN_LATENCY.observe)
    REGISTRY.register(DeploymentCollector())
