"""The web app factory: ``create_app(settings)`` (STYLE.md §6; SYSTEM.md capability 10).

Server-rendered pages for clinicians, raters, pharmacists and statisticians, and a REST API
under ``/api/v1`` with OpenAPI (``/api/v1/openapi.json``), both over the same services, so the
same role checks and the same blind apply (PROTOCOL.md §3). Nothing is built at import time:
the entry point builds :class:`~.config.WebSettings` and calls :func:`create_app`; tests pass
their own :class:`~ketamine_ptsd.services.Services` (fixed clock, cheap hashing).

Errors never show a traceback or patient data: service errors become a short page or JSON body
naming the problem (their messages carry no blind-breaking value, services/errors.py), anything
unexpected becomes a generic page with a reference number that is logged with the traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketamine_ptsd.core.errors import DomainError, InvalidInput
from ketamine_ptsd.services import (
    ConflictError,
    NotFound,
    PermissionDenied,
    ServiceContext,
    Services,
    ValidationFailed,
)

from . import filters
from .analysis_runs import RunStore
from .config import WebSettings
from .deps import ApiUnauthorized, CsrfRejected, LoginRequired, WebState
from .limits import RequestLimitsMiddleware
from .security import LoginThrottle, SecurityHeadersMiddleware, Signer

__all__ = ["create_app"]

log = logging.getLogger("ketamine_ptsd.web")

API_PREFIX = "/api/v1"


def _build_services(settings: WebSettings) -> tuple[Services, Any]:
    from ketamine_ptsd.adapters.audit_keystore import audit_anchor
    from ketamine_ptsd.adapters.db.engine import open_database
    from ketamine_ptsd.adapters.protocol_store import load_protocol

    anchor = audit_anchor(settings.database_url)  # the audit keys, kept outside the database
    database = open_database(settings.database_url)

    def protocols(name: str) -> Any:
        return load_protocol(name, settings.protocol_dirs)

    context = ServiceContext(database.session_factory, protocols=protocols, audit_anchor=anchor)
    return Services(context), database


def create_app(settings: WebSettings, *, services: Services | None = None) -> FastAPI:
    """The ASGI app for ``settings``; ``services`` replaces the database-backed ones (tests)."""
    database = None
    if services is None:
        services, database = _build_services(settings)

    runs = RunStore()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            runs.clear()  # the analysis reports' temporary folders (kp-analysis-*)
            if database is not None:
                database.dispose()

    app = FastAPI(
        title="ketamine-ptsd",
        version="1",
        summary="Repeated IV ketamine for chronic PTSD: the record's REST API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI needs inline script and a CDN: refused by our CSP
        redoc_url=None,
        lifespan=lifespan,
        form_limits=settings.limits.form_limits(),  # type: ignore[arg-type]
    )
    web_root = resources.files("ketamine_ptsd.adapters.web")
    templates = Jinja2Templates(directory=str(web_root / "templates"))
    filters.install(templates.env, settings.site_timezone)
    clock = services.context.clock
    window = dt.timedelta(minutes=settings.login_window_minutes)
    app.state.web = WebState(
        settings=settings,
        services=services,
        templates=templates,
        signer=Signer(settings.secret_key, clock.now),
        client_throttle=LoginThrottle(
            settings.login_failures_per_client, dt.timedelta(seconds=1), window, clock.now
        ),
        account_throttle=LoginThrottle(
            settings.login_failures_per_account, dt.timedelta(seconds=1), window, clock.now
        ),
        link_throttle=LoginThrottle(
            settings.self_report_failures_per_client, dt.timedelta(seconds=1), window, clock.now
        ),
    )
    app.state.analysis_runs = runs
    app.mount("/static", StaticFiles(directory=str(web_root / "static")), name="static")
    _include_routers(app)
    _install_error_handlers(app)
    app.add_middleware(RequestLimitsMiddleware, limits=settings.limits, api_prefix=API_PREFIX)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: also on the limits' refusals
    return app


def _include_routers(app: FastAPI) -> None:
    from .api import router as api_router
    from .routes import (
        admin,
        adverse_events,
        alerts,
        analysis,
        assessments,
        audit,
        auth,
        blinding,
        bookings,
        corrections,
        esketamine,
        home,
        infusion,
        locks,
        maintenance,
        meddra,
        monitoring,
        patients,
        pharmacy,
        screening,
        self_report,
    )

    for module in (
        auth,
        home,
        bookings,
        patients,
        screening,
        pharmacy,
        infusion,
        alerts,
        maintenance,
        esketamine,
        assessments,
        blinding,
        corrections,
        adverse_events,
        meddra,
        admin,
        analysis,
        monitoring,
        locks,
        audit,
        self_report,
    ):
        app.include_router(module.router, include_in_schema=False)
    app.include_router(api_router, prefix=API_PREFIX)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error(request: Request, status: int, title: str, detail: str) -> Response:
    """A short page (or JSON for the API) naming the problem; never a traceback."""
    if _is_api(request):
        return JSONResponse({"error": title, "detail": detail}, status_code=status)
    state: WebState = request.app.state.web
    session = getattr(request.state, "page_session", None)
    return state.templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "detail": detail, "session": session, "nav": [], "csrf_token": None},
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        target = "/login?next=" + quote(request.url.path, safe="/")
        if exc.expired:
            target += "&expired=1"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(ApiUnauthorized)
    async def _unauthorized(_request: Request, _exc: ApiUnauthorized) -> Response:
        return JSONResponse(
            {"error": "unauthorized", "detail": "a valid bearer token is needed"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _exc: CsrfRejected) -> Response:
        return _error(
            request,
            403,
            "Request refused",
            "The form was out of date or did not come from this site. Nothing was changed: "
            "go back, reload the page and try again.",
        )

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied) -> Response:
        return _error(request, 403, "Not permitted", f"Your role may not {exc.action}.")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, "Not found", f"No {exc.entity} with that key.")

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> Response:
        return _error(request, 409, "Not done", exc.message)

    @app.exception_handler(ValidationFailed)
    async def _invalid(request: Request, exc: ValidationFailed) -> Response:
        return _error(request, 422, "Invalid value", f"{exc.field}: {exc.message}")

    @app.exception_handler(InvalidInput)
    async def _invalid_core(request: Request, exc: InvalidInput) -> Response:
        return _error(request, 422, "Invalid value", f"{exc.field}: {exc.message}")

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default echoes the input (a password, in a login body): say where, not what.
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        if _is_api(request):
            return JSONResponse({"error": "invalid request", "problems": problems}, 422)
        detail = "; ".join(f"{'.'.join(p['loc'][1:])}: {p['msg']}" for p in problems)
        return _error(request, 422, "Invalid request", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        if exc.status_code == 404:
            detail = "There is no page here."
        elif exc.status_code in (400, 413):  # our limits and the form parser say what was wrong
            detail = f"The request was refused: {exc.detail}."
        else:
            detail = "The request was refused."
        return _error(
            request, exc.status_code, titles.get(exc.status_code, "Request refused"), detail
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected_handler(request: Request, exc: Exception) -> Response:
        return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> Response:
    reference = secrets.token_hex(4)
    log.error(
        "unhandled error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    response = _error(
        request,
        500,
        "Something went wrong",
        f"The request could not be completed. Nothing further was changed. "
        f"Quote reference {reference} to the administrator.",
    )
    # Starlette's ServerErrorMiddleware sits outside our headers middleware: add them here.
    from .security import SECURITY_HEADERS

    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    response.headers["cache-control"] = "no-store"
    return response
