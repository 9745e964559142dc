"""The coder's MedDRA page (issue 14): the uncoded adverse events listed, one coded to an LLT of
the loaded release with its primary path (audited by the service), refusals shown, the role the
CLI's ``meddra code`` needs, and the CSRF token required."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import csrf_of, sign_in  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.cli.main_cmds import _demo_services
from ketamine_ptsd.adapters.db.migrate import upgrade
from ketamine_ptsd.adapters.demo_loader import DemoLoader, list_version_for, make_demo_trial
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.core.meddra import parse_release
from ketamine_ptsd.core.roles import Role

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parents[2] / "fixtures" / "meddra_synthetic"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    path = tmp_path_factory.mktemp("meddra-web") / "record.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    services, clock, database = _demo_services(url, fast_sqlite=True)
    trial, list_seed = make_demo_trial(5, services.context.protocol("rct"), n_per_arm=2)
    loader = DemoLoader(services, clock)
    clock.set(dt.datetime.combine(trial.config.start_date, dt.time(8), tzinfo=dt.UTC))
    loader.create_accounts()
    loader.load(trial, list_seed=list_seed, list_version=list_version_for(5))
    release = parse_release(
        *((FIXTURE / n).read_text(encoding="utf-8") for n in ("llt.asc", "mdhier.asc")),
        (FIXTURE / "meddra_release.asc").read_text(encoding="utf-8"),
    )
    services.meddra.load(loader.actors[Role.ADMINISTRATOR], release)
    try:
        yield create_app(WebSettings(database_url=url, secret_key="t"), services=services)
    finally:
        database.dispose()


def _client(app: object, username: str, password: str) -> TestClient:
    return sign_in(TestClient(app, base_url="http://testserver"), username, password)  # type: ignore[arg-type]


def test_the_physician_codes_an_uncoded_event_to_an_llt(app: object) -> None:
    client = _client(app, "investigator", "quiet-meadow-demo")
    page = client.get("/meddra")
    assert page.status_code == 200 and "Adverse events still to code" in page.text
    import re

    ids = re.findall(r'name="adverse_event_id" value="(\d+)"', page.text)
    assert ids, "the demo record has uncoded adverse events"
    token = csrf_of(page.text)
    # A non-current LLT is refused at the form, the code kept.
    refused = client.post(
        "/meddra/code",
        data={"csrf_token": token, "adverse_event_id": ids[0], "llt_code": "90000005"},
    )
    assert refused.status_code == 422 and "non-current" in refused.text
    assert 'value="90000005"' in refused.text
    done = client.post(
        "/meddra/code",
        data={"csrf_token": token, "adverse_event_id": ids[0], "llt_code": "90000004"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"]).text
    assert "coded to" in after and f'value="{ids[0]}"' not in after  # no longer listed


def test_other_roles_and_forms_without_the_token_are_refused(app: object) -> None:
    nurse = _client(app, "nurse", "amber-lantern-demo")
    assert nurse.get("/meddra").status_code == 403
    physician = _client(app, "investigator", "quiet-meadow-demo")
    no_token = physician.post("/meddra/code", data={"adverse_event_id": "1", "llt_code": "1"})
    assert no_token.status_code == 403
