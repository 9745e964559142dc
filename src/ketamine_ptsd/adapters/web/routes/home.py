"""The role home page: what this person has to do today."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..deps import Session, State, render
from ..views import home_page

router = APIRouter()


@router.get("/")
def home(request: Request, session: Session, state: State) -> Response:
    return render(request, "home.html", {"page": home_page(state, session.actor)})
