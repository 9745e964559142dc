"""The analysis page (PROTOCOL.md §3, §9, §10; issue 5 "Analysis page"): the protocol's analysis
run on the record from the web, as the statistician's live sanction allows.

One 2-per-arm demo record (adapters/demo_loader.py, the CLI demo's replay through the services)
with three statisticians: ``statistician`` (full sanction), ``dsmb.statistician`` (partial) and
``blind.statistician`` (none). Each report takes several seconds (MMRMs, figures, PDF), so each
level is built once.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web_support import csrf_of, sign_in  # type: ignore[import-not-found]

from ketamine_ptsd.adapters.cli.main_cmds import _demo_services, _grant_sanctions
from ketamine_ptsd.adapters.db.migrate import upgrade
from ketamine_ptsd.adapters.demo_loader import DemoLoader, list_version_for, make_demo_trial
from ketamine_ptsd.adapters.web.app import create_app
from ketamine_ptsd.adapters.web.config import WebSettings
from ketamine_ptsd.services import Actor

pytestmark = pytest.mark.slow

BLIND_PASSWORD = "blind-statistician-pass"
#: As tests/adapters/web/test_web_blind.py: a drug name, a milligram amount or a concentration.
CANARY = re.compile(r"ketamine(?!-ptsd)|midazolam|\d\s?mg\b(?!/kg)|mg/mL", re.IGNORECASE)
#: The DSMB packet lists rescue medication given at the bedside with its dose ("labetalol 5 mg
#: IV", PROTOCOL.md §6), which is not the study drug: there the canary is the study drugs'
#: names and concentrations.
STUDY_DRUG = re.compile(r"ketamine(?!-ptsd)|midazolam|mg/mL", re.IGNORECASE)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    path = tmp_path_factory.mktemp("analysis") / "record.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    services, clock, database = _demo_services(url, fast_sqlite=True)
    trial, list_seed = make_demo_trial(5, services.context.protocol("rct"), n_per_arm=2)
    loader = DemoLoader(services, clock)
    clock.set(dt.datetime.combine(trial.config.start_date, dt.time(8), tzinfo=dt.UTC))
    loader.create_accounts()
    loader.load(trial, list_seed=list_seed, list_version=list_version_for(5))
    _grant_sanctions(loader, clock)
    loader.resolve_queries()  # the database is locked only with every query closed
    loader.lock_record("the final analysis of the test trial")
    services.users.add(
        Actor.system("test"),
        username="blind.statistician",
        role="statistician",
        password=BLIND_PASSWORD,
        full_name="Blake Blinded",
    )
    try:
        yield create_app(WebSettings(database_url=url, secret_key="t"), services=services)
    finally:
        database.dispose()


def _client(app: object, username: str, password: str) -> TestClient:
    return sign_in(TestClient(app, base_url="http://testserver"), username, password)  # type: ignore[arg-type]


def _run(client: TestClient, *, confirm: bool = False) -> object:
    token = csrf_of(client.get("/analysis").text)
    data = {"csrf_token": token, "protocol_name": "rct"}
    if confirm:
        data["confirm"] = "yes"
    return client.post("/analysis/run", data=data, follow_redirects=False)


@pytest.fixture(scope="module")
def full(app: object) -> TestClient:
    client = _client(app, "statistician", "granite-river-demo")
    response = _run(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="module")
def partial(app: object) -> TestClient:
    client = _client(app, "dsmb.statistician", "maple-beacon-demo")
    response = _run(client, confirm=True)
    assert response.status_code == 303  # type: ignore[attr-defined]
    return client


def test_full_sanction_shows_the_final_report_with_its_tables_and_figures(full) -> None:
    page = full.get("/analysis")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "Trial report" in html and "DSMB interim" not in html
    assert "ketamine" in html and "midazolam" in html  # arm ids under a full sanction
    assert "<table>" in html and "Participant flow" in html
    figures = re.findall(r'src="(/analysis/report/figures/[a-z0-9_]+\.png)"', html)
    assert "/analysis/report/figures/consort.png" in figures
    for src in figures:
        image = full.get(src)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.headers["cache-control"] == "no-store"
    assert 'src="figures/' not in html  # every relative link rewritten to an authenticated route


def test_the_report_downloads_as_pdf_and_as_a_zip_of_the_html_report(full) -> None:
    pdf = full.get("/analysis/report/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "no-store"
    assert "attachment" in pdf.headers["content-disposition"]
    assert "trial-report" in pdf.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(full.get("/analysis/report.zip").content))
    names = set(archive.namelist())
    assert {"index.html", "report.pdf", "figures/consort.png"} <= names


def test_figures_refuse_names_outside_the_report_folder(full) -> None:
    assert full.get("/analysis/report/figures/..%2Findex.html").status_code == 404
    assert full.get("/analysis/report/figures/nothing.png").status_code == 404


def test_partial_sanction_shows_the_dsmb_packet_with_arms_coded_a_b(partial) -> None:
    html = partial.get("/analysis").text
    assert "DSMB interim packet" in html
    assert "Arms: A, B" in html
    # The report's heading carries the study's title, which names the drug under study (not
    # an arm, and the same whichever arm): the canary reads everything else.
    heading = re.compile(r"<h1>DSMB interim packet \(arms coded\) — [^<]*</h1>")
    assert heading.search(html) is not None
    rest = heading.sub("", html)
    found = STUDY_DRUG.search(rest)
    assert found is None, f"the DSMB packet shows {rest[found.start() - 200 : found.end() + 80]!r}"
    pdf = partial.get("/analysis/report/report.pdf")
    assert pdf.status_code == 200 and "dsmb-interim" in pdf.headers["content-disposition"]


def test_the_dsmb_packet_is_built_only_after_the_statistician_confirms(app) -> None:
    """Issue 14: the coded results are revealed only once the DSMB statistician has ticked the
    confirmation; without it nothing runs and the page asks again."""
    client = _client(app, "dsmb.statistician", "maple-beacon-demo")
    page = client.get("/analysis").text
    assert 'name="confirm"' in page and "independent statistician" in page
    store = app.state.analysis_runs  # type: ignore[attr-defined]
    before = dict(store._runs)
    refused = _run(client)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "tick the confirmation first" in refused.text  # type: ignore[attr-defined]
    assert dict(store._runs) == before  # no report was built or replaced
    full = _client(app, "statistician", "granite-river-demo")
    assert 'name="confirm"' not in full.get("/analysis").text  # the final report asks nothing


def test_without_a_sanction_the_page_says_so_and_nothing_runs(app, full) -> None:
    client = _client(app, "blind.statistician", BLIND_PASSWORD)
    page = client.get("/analysis").text
    assert "needs a sanctioned analysis" in page and "Run analysis" not in page
    refused = _run(client)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "needs a sanctioned analysis" in refused.text  # type: ignore[attr-defined]
    assert CANARY.search(refused.text) is None  # type: ignore[attr-defined]
    # Another statistician's report is not reachable by this user's session.
    assert client.get("/analysis/report/report.pdf").status_code == 404
    assert client.get("/analysis/report/figures/consort.png").status_code == 404


def test_running_needs_the_csrf_token(app) -> None:
    client = _client(app, "statistician", "granite-river-demo")
    assert client.post("/analysis/run", data={"protocol_name": "rct"}).status_code == 403


def test_the_report_folder_is_private_and_replaced_by_a_new_run(app, full, partial) -> None:
    """Each statistician's report lives in a private folder (0700); running again replaces it
    and removes the old one. Asks for both fixtures, so it holds in any test order."""
    store = app.state.analysis_runs  # type: ignore[attr-defined]
    before = {user: run.path for user, run in store._runs.items()}
    assert len(before) == 2  # the full and the partial statistician's
    assert all(f.is_dir() and (f.stat().st_mode & 0o077) == 0 for f in before.values())
    assert _run(full).status_code == 303  # type: ignore[attr-defined]
    after = {user: run.path for user, run in store._runs.items()}
    [replaced] = [user for user in before if after[user] != before[user]]
    assert not before[replaced].exists() and after[replaced].is_dir()
    assert all(after[u] == before[u] and before[u].is_dir() for u in before if u != replaced)
    files = [p for folder in after.values() for p in folder.rglob("*")]
    assert any(p.name == "report.pdf" for p in files)
    for path in files:  # 0600 files, 0700 folders: created so, whatever the umask
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_server_shutdown_removes_the_report_folders(app, full) -> None:  # type: ignore[no-untyped-def]
    """Last in the module: shutting the app down (its lifespan's end) deletes every run's
    temporary folder (kp-analysis-*)."""
    store = app.state.analysis_runs
    folders = [run.path for run in store._runs.values()]
    assert folders and all(f.name.startswith("kp-analysis-") and f.is_dir() for f in folders)
    with TestClient(app, base_url="http://testserver"):
        pass  # start-up and shutdown
    assert not any(f.exists() for f in folders)
