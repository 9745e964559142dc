"""Web load: p95 latency and throughput of the main pages at 50 concurrent users on loopback.

SYSTEM.md "Targets to measure": p95 ≤ 50 ms at 50 concurrent users on SQLite, no errors.

The app runs in its own process (uvicorn, one worker, the real Argon2 hasher and wall clock)
over a fresh SQLite file seeded with users and patients (half of them allocated); the load comes
from 50 threads in this process, each signed in with its own session and looping over the main
pages (home, patient list, a patient page, the bedside screen, the dashboard) for a bounded time.
Prints one line per page and the totals; ``--append`` adds the figures to docs/benchmarks.md.

    .venv/bin/python bench/web_load.py --users 50 --seconds 20 --append

``--soak SECONDS`` runs the same load for that long and samples the server process's resident
memory (``/proc/PID/status`` VmRSS) every minute: issue 16 asks it to stay flat within 10 %
(the last sample against the first one after the first minute's warm-up).

    .venv/bin/python bench/web_load.py --users 20 --think-ms 50 --soak 600 --append
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "bench password 1"
#: A screening visit that meets every criterion of PROTOCOL.md §1 (CAPS-5 past month 42).
ELIGIBLE_FACTS: dict[str, bool | int | float] = {
    "age_years": 39,
    "primary_chronic_ptsd_scid5": True,
    "ptsd_duration_months": 60,
    "serious_unstable_medical_illness": False,
    "active_suicidal_or_homicidal_ideation": False,
    "lifetime_psychotic_or_bipolar_disorder": False,
    "current_anorexia_or_bulimia": False,
    "substance_use_disorder_past_3_months": False,
    "recreational_ketamine_pcp_uses_lifetime": 0,
    "recreational_ketamine_pcp_use_past_2_years": False,
    "current_long_acting_benzodiazepine": False,
    "current_opioid": False,
    "psychotropic_dose_changed_past_3_months": False,
}
CAPS5_42 = {str(k): (3 if k <= 2 else 2) for k in range(1, 21)}
PAGES = ("/", "/patients", "/patients/{pid}", "/patients/{pid}/infusion/1", "/dashboard")


def _seed(url: str, patients: int) -> None:
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.adapters.db.migrate import upgrade
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.services import Actor, ServiceContext, Services
    from ketamine_ptsd.services.patients import ConsentInput
    from ketamine_ptsd.services.screening import ScreeningVisitInput

    upgrade(url)
    db = open_database(url)
    services = Services(ServiceContext(db.session_factory, protocols=load_protocol))
    system = Actor.system("bench")
    actors = {}
    for role in ("nurse", "investigator", "pharmacist"):
        view = services.users.add(
            system, username=role, role=role, password=PASSWORD, full_name=f"Bench {role}"
        )
        from ketamine_ptsd.core.roles import Role

        actors[role] = Actor(view.id, view.username, Role(role))
    services.randomization.generate_list(
        actors["pharmacist"], protocol_name="rct", list_version="bench", slots_per_stratum=400
    )
    today = dt.datetime.now(dt.UTC).date()
    for n in range(patients):
        p = services.patients.register(actors["investigator"], protocol_name="rct", site="BEN")
        services.patients.record_consent(
            actors["investigator"], p.id, ConsentInput("v1", today, True, "Dr Capacity")
        )
        # Eligible by the rules from a screening visit (a bare "eligible" is refused, §1).
        services.screening.record_visit(
            actors["investigator"],
            p.id,
            ScreeningVisitInput(today, facts=ELIGIBLE_FACTS, caps5_past_month=CAPS5_42),
        )
        if n % 2 == 0:
            services.randomization.allocate(actors["investigator"], p.id, infusion_date=today)
    db.dispose()


def _serve(url: str, port: int) -> None:
    import uvicorn

    from ketamine_ptsd.adapters.web.app import create_app
    from ketamine_ptsd.adapters.web.config import WebSettings

    app = create_app(WebSettings(database_url=url, login_failures_per_client=10_000))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    response.raise_for_status()
    return client


def run(
    users: int, seconds: float, patients: int, think_s: float = 0.0, sample_s: float = 60.0
) -> dict[str, object]:
    folder = tempfile.mkdtemp(prefix="web-load-")
    url = f"sqlite:///{Path(folder) / 'record.sqlite'}"
    _seed(url, patients)
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(target=_serve, args=(url, port), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/login", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start") from None
            time.sleep(0.1)
    clients = [_client(base, "nurse" if i % 2 else "investigator") for i in range(users)]
    latencies: dict[str, list[float]] = {p: [] for p in PAGES}
    errors = [0]
    lock = threading.Lock()
    start_gate = threading.Barrier(users + 1)
    stop_at = [0.0]

    def worker(index: int, client: httpx.Client) -> None:
        mine: dict[str, list[float]] = {p: [] for p in PAGES}
        bad = 0
        pid = 1 + (index % patients)
        start_gate.wait()
        if think_s:  # stagger the first clicks: people do not all press at the same instant
            time.sleep(think_s * index / users)
        k = index
        while time.perf_counter() < stop_at[0]:
            page = PAGES[k % len(PAGES)]
            k += 1
            t0 = time.perf_counter()
            response = client.get(page.format(pid=pid))
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                bad += 1
            mine[page].append(elapsed)
            if think_s:
                time.sleep(think_s)  # a person reads the page before the next click
        with lock:
            for p in PAGES:
                latencies[p].extend(mine[p])
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    rss: list[tuple[float, int]] = []
    sampler_stop = threading.Event()

    def sampler() -> None:  # the server's resident memory, every ``sample_s`` seconds
        while True:
            rss.append((time.perf_counter() - t_start, _rss_kib(server.pid)))
            if sampler_stop.wait(sample_s):
                rss.append((time.perf_counter() - t_start, _rss_kib(server.pid)))
                return

    sampling = threading.Thread(target=sampler, daemon=True)
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t_start = time.perf_counter()
    start_gate.wait()
    sampling.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t_start
    sampler_stop.set()
    sampling.join(5)
    for c in clients:
        c.close()
    server.terminate()
    server.join(10)

    def q(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    everything = [v for values in latencies.values() for v in values]
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": len(everything),
        "errors": errors[0],
        "throughput_rps": len(everything) / wall,
        "p50_ms": statistics.median(everything) * 1000,
        "p95_ms": q(everything, 0.95),
        "p99_ms": q(everything, 0.99),
        "rss_kib": rss,
        "pages": {
            p: {"n": len(v), "p50_ms": statistics.median(v) * 1000, "p95_ms": q(v, 0.95)}
            for p, v in latencies.items()
            if v
        },
    }


def _rss_kib(pid: int | None) -> int:
    """Resident memory of process ``pid`` in KiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="pause per client between requests (0: closed loop, the server saturated)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run this long and sample the server's memory every minute (flat within 10 %%)",
    )
    parser.add_argument("--append", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    seconds = args.soak if args.soak is not None else args.seconds
    sample_s = 60.0 if args.soak is not None else max(seconds, 1.0)
    result = run(args.users, seconds, args.patients, args.think_ms / 1000, sample_s)
    lines = [
        f"{'page':32s} {'n':>7s} {'p50 ms':>8s} {'p95 ms':>8s}",
        *(
            f"{p:32s} {v['n']:7d} {v['p50_ms']:8.1f} {v['p95_ms']:8.1f}"  # type: ignore[index]
            for p, v in result["pages"].items()  # type: ignore[union-attr]
        ),
        f"all: {result['requests']} requests in {result['seconds']} s = "
        f"{result['throughput_rps']:.0f} req/s; p50 {result['p50_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; errors {result['errors']}",
        "target: p95 <= 50 ms at 50 users, no errors -> "
        + ("met" if result["p95_ms"] <= 50 and result["errors"] == 0 else "NOT met"),  # type: ignore[operator]
    ]
    if args.soak is not None:
        samples = result["rss_kib"]
        lines.append(
            "server RSS by minute (MiB): "
            + ", ".join(f"{t / 60:.0f}: {k / 1024:.1f}" for t, k in samples)  # type: ignore[union-attr]
        )
        warm = samples[1][1] if len(samples) > 2 else samples[0][1]  # type: ignore[index]
        drift = (samples[-1][1] - warm) / warm  # type: ignore[index]
        lines.append(
            f"soak: last sample vs the first after warm-up {drift:+.1%} -> "
            + ("flat within 10 %" if abs(drift) <= 0.10 else "NOT flat within 10 %")
        )
    print("\n".join(lines))
    if args.append:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        doc = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
        with doc.open("a", encoding="utf-8") as out:
            out.write(
                f"\n## Web {'soak' if args.soak is not None else 'load'} (`bench/web_load.py`)\n\n"
                f"Command: `.venv/bin/python bench/web_load.py --users {args.users} "
                + (
                    f"--soak {args.soak:g}"
                    if args.soak is not None
                    else f"--seconds {args.seconds:g}"
                )
                + f" --think-ms {args.think_ms:g} --append` — uvicorn, one worker process, SQLite, "
                f"{args.patients} patients (half allocated), {args.users} signed-in clients "
                f"(httpx threads) on loopback; {platform.processor() or platform.machine()}, "
                f"{os.cpu_count()} CPUs, load average {load:.1f} at the end.\n\n```\n"
                + "\n".join(lines)
                + "\n```\n"
            )


if __name__ == "__main__":
    main()
