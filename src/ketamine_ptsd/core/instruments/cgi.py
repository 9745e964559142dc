"""CGI-S and CGI-I, the Clinical Global Impression scales of severity and improvement.

Source: Guy W. ECDEU Assessment Manual for Psychopharmacology, revised. DHEW Publ No (ADM)
76-338. Rockville, MD: NIMH; 1976:217–222; PROTOCOL.md §5, §7, §9. Each is one clinician rating
on an ordinal 1–7 scale (analysed with cumulative logit models, PROTOCOL.md §9, so the labels
matter and the numbers are ranks). The manual's code 0 "not assessed" is not a rating: leave the
item out (or pass ``None``) instead.

CGI-S rates illness severity now; CGI-I rates change since the start of treatment and is used
from week 1 on (PROTOCOL.md §5).

Missing-item rule: the single item is required.
"""

from __future__ import annotations

from ketamine_ptsd.core.instruments._base import Instrument, Item, score_single_rating

__all__ = ["CGI_I", "CGI_I_LABELS", "CGI_S", "CGI_S_LABELS"]

CGI_S_LABELS: dict[int, str] = {
    1: "normal, not at all ill",
    2: "borderline mentally ill",
    3: "mildly ill",
    4: "moderately ill",
    5: "markedly ill",
    6: "severely ill",
    7: "among the most extremely ill",
}
CGI_I_LABELS: dict[int, str] = {
    1: "very much improved",
    2: "much improved",
    3: "minimally improved",
    4: "no change",
    5: "minimally worse",
    6: "much worse",
    7: "very much worse",
}
_CITATION = (
    "Guy W. ECDEU Assessment Manual for Psychopharmacology, revised. NIMH; 1976:217-222; "
    "PROTOCOL.md §7"
)

CGI_S = Instrument(
    id="cgi_s",
    name="CGI-S",
    version="standard",
    recall_period="current (now)",
    field_prefix="cgi_s",
    items=(Item("1", 1, "severity of illness", minimum=1, maximum=7, anchors=CGI_S_LABELS),),
    citation=_CITATION,
    missing_rule="The single item is required.",
    scorer=score_single_rating,
    total_range=(1, 7),
)

CGI_I = Instrument(
    id="cgi_i",
    name="CGI-I",
    version="standard",
    recall_period="since the start of treatment",
    field_prefix="cgi_i",
    items=(Item("1", 1, "global improvement", minimum=1, maximum=7, anchors=CGI_I_LABELS),),
    citation=_CITATION,
    missing_rule="The single item is required.",
    scorer=score_single_rating,
    total_range=(1, 7),
)
