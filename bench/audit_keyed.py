"""The audit trail's write cost with the keyed chain (issue 16) against the unkeyed one.

Loads the demo's synthetic trial (every patient through the real services, ~74,000 audit rows)
into a fresh SQLite file, alternately with the keyed chain and signed checkpoints
(``audit_anchor``: HMAC-SHA-256 per row, a checkpoint every 1,000 rows) and without a key ring
(the legacy SHA-256 chain, what the record wrote before), in one process, so both see the same
machine and the same warm imports. Prints each load's time, the medians and the ratio.

    .venv/bin/python bench/audit_keyed.py --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import event

from ketamine_ptsd.adapters.audit_keystore import audit_anchor
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.adapters.db.migrate import upgrade
from ketamine_ptsd.adapters.demo_loader import DemoLoader, list_version_for, make_demo_trial
from ketamine_ptsd.adapters.protocol_store import load_protocol
from ketamine_ptsd.services import FixedClock, ServiceContext, Services

SEED = 1


def load_once(folder: Path, *, keyed: bool) -> tuple[float, int]:
    """Seconds for the demo's load into a fresh record, and the audit rows written."""
    url = f"sqlite:///{folder / 'record.sqlite3'}"
    upgrade(url)
    database = open_database(url)

    @event.listens_for(database.engine, "connect")
    def _no_sync(dbapi_connection: Any, _record: Any) -> None:  # as the demo runs
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    clock = FixedClock(dt.datetime(2015, 1, 1, tzinfo=dt.UTC))
    context = ServiceContext(
        database.session_factory,
        protocols=load_protocol,
        clock=clock,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        audit_anchor=audit_anchor(url) if keyed else None,
    )
    services = Services(context)
    trial, list_seed = make_demo_trial(SEED, services.context.protocol("rct"))
    loader = DemoLoader(services, clock)
    clock.set(dt.datetime.combine(trial.config.start_date, dt.time(8), tzinfo=dt.UTC))
    loader.create_accounts()
    started = time.perf_counter()
    loader.load(trial, list_seed=list_seed, list_version=list_version_for(SEED))
    seconds = time.perf_counter() - started
    rows = services.audit.record_version(loader.actors[next(iter(loader.actors))])
    database.dispose()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"unkeyed": [], "keyed": []}
    loads = []
    for i in range(args.runs):
        for name in ("unkeyed", "keyed"):
            with tempfile.TemporaryDirectory(prefix="audit-bench-") as folder:
                seconds, rows = load_once(Path(folder), keyed=name == "keyed")
            times[name].append(seconds)
            loads.append(os.getloadavg()[0])
            print(f"run {i + 1} {name:8s}: load {seconds:6.2f} s, {rows} audit rows", flush=True)
    print(f"load average during the runs: {min(loads):.2f}-{max(loads):.2f}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"median load, {name}: {value:.2f} s")
    print(f"keyed / unkeyed (median load): {medians['keyed'] / medians['unkeyed']:.3f}")


if __name__ == "__main__":
    main()
