"""HTTP load: client threads approving applications over keep-alive connections, and what came back."""

from __future__ import annotations

import http.client
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

from bench.sampling import DbSample


@dataclass
class HttpResult:
    clients: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int]
    accepted_ids: list[int]
    succeeded: int = 0
    retries: int = 0
    db: DbSample | None = None
    app_cpu_seconds: float = 0.0  # gunicorn master + workers, user + system
    machine_busy: float = 0.0  # share of all CPUs busy (everything on the machine) during the run
    kind: str = "approve"  # or "baseline": voucher_service.api.baseline
    load: str = ""  # the load average when the run ended

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


BASELINE_PATH = "/api/v1/bench/baseline/"  # voucher_service.api.baseline: one row inserted, 201


def approval_path(application_id: int) -> str:
    return f"/api/v1/voucher-applications/{application_id}/approve/"


def approve_client(
    port: int,
    token: str,
    work: queue.Queue[int],
    deadline_holder: list[float],
    start: threading.Barrier,
    out: list[tuple[int, int, float]],
    baseline: bool = False,
) -> None:
    """Approve applications from ``work`` (or, with ``baseline``, post to the baseline endpoint once per item)
    until it is empty or the deadline passes; one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    try:
        while time.perf_counter() < deadline_holder[0]:
            try:
                application_id = work.get_nowait()
            except queue.Empty:
                return
            headers = {
                "Host": "127.0.0.1",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": str(uuid.uuid4()),
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            try:
                path = BASELINE_PATH if baseline else approval_path(application_id)
                connection.request("POST", path, body=b"{}", headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            out.append((application_id, status, (time.perf_counter() - started) * 1000))
    finally:
        connection.close()


def run_http(
    port: int, token: str, application_ids: list[int], clients: int, max_seconds: float, baseline: bool = False
) -> HttpResult:
    """Approve ``application_ids`` with ``clients`` threads; with ``baseline``, as many baseline requests."""
    work: queue.Queue[int] = queue.Queue()
    for application_id in application_ids:
        work.put(application_id)
    start = threading.Barrier(clients + 1)
    deadline = [float("inf")]
    outputs: list[list[tuple[int, int, float]]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(
            target=approve_client, args=(port, token, work, deadline, start, outputs[n], baseline), daemon=True
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + max_seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=max_seconds + 120)
    seconds = time.perf_counter() - started
    done = [row for output in outputs for row in output]
    ok = 201 if baseline else 202
    result = HttpResult(
        clients=clients,
        seconds=seconds,
        latencies_ms=[latency for _, status, latency in done if status == ok],
        statuses=Counter(status for _, status, _ in done),
        accepted_ids=[application_id for application_id, status, _ in done if status == ok],
    )
    if baseline:
        result.kind, result.succeeded = "baseline", len(result.accepted_ids)  # every 201 is its row
    return result


def count_succeeded(application_ids: list[int]) -> int:
    from voucher_service.vouchers.models import Issuance, IssuanceStatus

    return Issuance.objects.filter(application_id__in=application_ids, status=IssuanceStatus.SUCCEEDED).count()
