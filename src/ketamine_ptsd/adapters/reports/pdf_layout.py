"""The PDF's pages, typeset with matplotlib: tables with rules in a proportional font, a running
header and page numbers on every page, figures placed on the same A4 landscape pages.

Why matplotlib rather than a PDF library: it is already a dependency, needs no system library
(WeasyPrint needs Pango), keeps the figures as vector graphics on the report's own pages, and
writes the same bytes for the same data (no creation date; a frozen DSMB packet is made again
byte for byte, issue 17).

Tables follow the booktabs convention statisticians publish with: a heavy rule above the header,
a light one under it, a heavy one under the last row, no vertical rules; numbers right-aligned,
text left-aligned; light banding on alternate rows of long tables. Column widths are measured in
the font itself (DejaVu Sans, matplotlib's bundled proportional face): a table that does not fit
the page first shrinks its type (down to :data:`MIN_PT`), then wraps its widest text columns. The
tables flow one after another down the pages; a table longer than the page continues on the next
with its header repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import ft2font
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from ketamine_ptsd.adapters.reports.builder import Table

__all__ = [
    "PAGE_IN",
    "PageHeader",
    "cover_preface",
    "figure_page",
    "number_pages",
    "table_pages",
    "text_width_pt",
]

#: A4 landscape, inches.
PAGE_IN = (11.69, 8.27)
FONT = "DejaVu Sans"
BODY_PT = 8.5
MIN_PT = 6.5
TITLE_PT = 10.5
NOTE_PT = 7.5
#: Margins (points): left/right, top (below the running header), bottom (above the footer).
MARGIN_X_PT = 40.0
TOP_PT = 46.0
BOTTOM_PT = 40.0
CELL_PAD_PT = 5.0
LINE_FACTOR = 1.32  # baseline-to-baseline distance as a multiple of the type size
#: DejaVu Sans' ascender (0.76 em for "l"; accents reach a little higher): cursor to baseline.
ASCENT_EM = 0.80
BAND = "#f1f4f7"
#: Breaking white space only: a no-break space (U+00A0) keeps "N = 15" on one line.
_SPACES = re.compile(r"[ \t\r\n]+")
_NUMERIC = re.compile(r"^[<>≤≥+−–-]?\s?[0-9.∞]")


@dataclass(frozen=True)
class PageHeader:
    """What every page repeats: the study, the kind of report, the run date and the data cut-off."""

    study: str
    kind: str  # "Final report" | "DSMB interim packet (arms coded)" | ...
    run_date: str  # YYYY-MM-DD, or "" when the caller gave none
    cutoff: str  # "YYYY-MM-DD HH:MM UTC (database lock)" or "" when unknown
    confidential: str = ""  # e.g. "DSMB closed session" (printed in the footer)


@lru_cache(maxsize=4)
def _font_path() -> str:
    return str(findfont(FontProperties(family=FONT)))


#: FreeType's "no hinting" load flag (``LoadFlags`` from matplotlib 3.10, a constant before).
_NO_HINTING: Any = (
    ft2font.LoadFlags.NO_HINTING
    if hasattr(ft2font, "LoadFlags")
    else getattr(ft2font, "LOAD_NO_HINTING")  # noqa: B009
)


@lru_cache(maxsize=1)
def _font() -> ft2font.FT2Font:
    font = ft2font.FT2Font(_font_path())
    font.set_size(100, 72)  # 100 pt at 72 dpi: 1 pixel = 1 point
    return font


@lru_cache(maxsize=4096)
def _advance_em(char: str) -> float:
    """One character's advance in ems (unhinted, as the PDF places glyphs)."""
    glyph = _font().load_char(ord(char), flags=_NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / 100.0


@lru_cache(maxsize=20000)
def _width_em(text: str) -> float:
    """The advance of ``text`` in DejaVu Sans, in ems (multiply by the size in points): the sum
    of its characters' advances (kerning, a fraction of a point, is left out)."""
    return sum(_advance_em(c) for c in text)


def text_width_pt(text: str, size_pt: float) -> float:
    """The width of one line of ``text`` at ``size_pt`` (the table's columns are measured so)."""
    return _width_em(text) * size_pt if text else 0.0


def _wrap(text: str, width_pt: float, size_pt: float) -> list[str]:
    """Greedy word wrap measured in the font (a word longer than the width stays whole)."""
    if text_width_pt(text, size_pt) <= width_pt:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if current and text_width_pt(trial, size_pt) > width_pt:
            lines.append(current)
            current = word
        else:
            current = trial
    lines.append(current)
    return lines


def _clean(cell: str) -> str:
    """Runs of white space made one space; a leading indent (a sub-row) is kept."""
    indent = len(cell) - len(cell.lstrip(" "))
    return " " * indent + _SPACES.sub(" ", cell).strip(" ")


def _is_numeric_column(cells: Sequence[str]) -> bool:
    filled = [c for c in cells if c and c not in ("–", "-", "")]
    return bool(filled) and all(_NUMERIC.match(c) for c in filled)


@dataclass(frozen=True)
class _Laid:
    """A table laid out: its type size, column widths and each row's wrapped lines."""

    size_pt: float
    widths: tuple[float, ...]
    right: tuple[bool, ...]
    header: tuple[tuple[str, ...], ...]  # each header cell's lines
    rows: tuple[tuple[tuple[str, ...], ...], ...]

    @property
    def line_pt(self) -> float:
        return self.size_pt * LINE_FACTOR

    def height(self, cells: tuple[tuple[str, ...], ...]) -> float:
        return max((len(c) for c in cells), default=1) * self.line_pt + 2.0


def _layout(table: Table, usable_pt: float) -> _Laid:
    header = [_clean(h) for h in table.header]
    rows = [[_clean(str(c)) for c in r] for r in table.rows]
    ncol = len(header)
    right = tuple(
        i > 0 and _is_numeric_column([r[i] for r in rows]) for i in range(ncol)
    )  # the first column is the row's label
    size = BODY_PT
    pad = 2 * CELL_PAD_PT

    def natural(size_pt: float) -> list[float]:
        # Header cells may wrap at spaces: their longest word sets their minimum.
        out = []
        for i in range(ncol):
            body = max((text_width_pt(r[i], size_pt) for r in rows), default=0.0)
            head = min(
                text_width_pt(header[i], size_pt),
                max(
                    max((text_width_pt(w, size_pt) for w in header[i].split()), default=0.0),
                    body,
                ),
            )
            out.append(max(body, head) + pad)
        return out

    widths = natural(size)
    while sum(widths) > usable_pt and size > MIN_PT:
        size = max(MIN_PT, size - 0.5)
        widths = natural(size)
    if sum(widths) > usable_pt:
        # Wrap the widest text columns down to a fair share of what the others leave.
        fixed = [w if right[i] else 0.0 for i, w in enumerate(widths)]
        text_cols = [i for i in range(ncol) if not right[i]]
        room = max(usable_pt - sum(fixed), 40.0 * len(text_cols))
        budget = dict.fromkeys(text_cols, room / max(len(text_cols), 1))
        # Columns narrower than their share keep their width; the rest share what is left.
        narrow = [i for i in text_cols if widths[i] <= budget[i]]
        while narrow:
            left = room - sum(widths[i] for i in narrow)
            wide = [i for i in text_cols if i not in narrow]
            if not wide:
                break
            share = left / len(wide)
            more = [i for i in wide if widths[i] <= share]
            for i in wide:
                budget[i] = share
            if not more:
                break
            narrow += more
        for i in text_cols:
            widths[i] = min(widths[i], max(budget[i], 40.0))
    else:
        # Spare width: spread it over the text columns so the table fills a sensible width,
        # up to the page for wide tables, never stretching a small table across the page.
        spare = min(usable_pt - sum(widths), 0.25 * sum(widths))
        text_cols = [i for i in range(ncol) if not right[i]] or list(range(ncol))
        for i in text_cols:
            widths[i] += spare / len(text_cols)

    def cell(value: str, width: float) -> tuple[str, ...]:
        if not value:
            return ("",)
        body = value.lstrip(" ")
        indent = value[: len(value) - len(body)]
        room = width - pad - text_width_pt(indent, size)
        return tuple(indent + line for line in _wrap(body, room, size))

    def cells(values: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        return tuple(cell(v, widths[i]) for i, v in enumerate(values))

    return _Laid(
        size_pt=size,
        widths=tuple(widths),
        right=right,
        header=cells(header),
        rows=tuple(cells(r) for r in rows),
    )


class _PageSet:
    """Pages of tables being filled top to bottom (points from the page's top edge)."""

    def __init__(self) -> None:
        self.pages: list[Figure] = []
        self.y = 0.0
        self.height_pt = PAGE_IN[1] * 72
        self.width_pt = PAGE_IN[0] * 72

    @property
    def room(self) -> float:
        return self.height_pt - BOTTOM_PT - self.y if self.pages else 0.0

    def new_page(self) -> Figure:
        fig = Figure(figsize=PAGE_IN)
        self.pages.append(fig)
        self.y = TOP_PT
        return fig

    @property
    def fig(self) -> Figure:
        return self.pages[-1]

    def text(self, x_pt: float, text: str, size: float, **kw: object) -> None:
        """Each line of ``text`` on its own baseline, the first one ascent below the cursor and
        the next ones LINE_FACTOR ems apart: every cell of a row shares its baselines whatever
        its letters (aligning tops would not: "no" and "mild" have different tops)."""
        for i, line in enumerate(text.split("\n")):
            baseline = self.y + ASCENT_EM * size + i * LINE_FACTOR * size
            self.fig.text(
                x_pt / self.width_pt,
                1 - baseline / self.height_pt,
                line,
                fontsize=size,
                family=FONT,
                va="baseline",
                **kw,  # type: ignore[arg-type]
            )

    def rule(self, x0: float, x1: float, width: float) -> None:
        y = 1 - self.y / self.height_pt
        self.fig.add_artist(
            Line2D(
                [x0 / self.width_pt, x1 / self.width_pt],
                [y, y],
                lw=width,
                color="black",
                transform=self.fig.transFigure,
            )
        )

    def band(self, x0: float, x1: float, h: float) -> None:
        self.fig.add_artist(
            Rectangle(
                (x0 / self.width_pt, 1 - (self.y + h) / self.height_pt),
                (x1 - x0) / self.width_pt,
                h / self.height_pt,
                transform=self.fig.transFigure,
                fc=BAND,
                ec="none",
                zorder=0,
            )
        )


def _paragraph(pages: _PageSet, text: str, size: float, width_pt: float, **kw: object) -> None:
    for line in _wrap(text, width_pt, size):
        if pages.room < size * LINE_FACTOR:
            pages.new_page()
        pages.text(MARGIN_X_PT, line, size, **kw)
        pages.y += size * LINE_FACTOR


def _draw_row(
    pages: _PageSet,
    laid: _Laid,
    cells: tuple[tuple[str, ...], ...],
    *,
    bold: bool = False,
    band: bool = False,
) -> None:
    h = laid.height(cells)
    x1 = MARGIN_X_PT + sum(laid.widths)
    if band:
        pages.band(MARGIN_X_PT, x1, h)
    x = MARGIN_X_PT
    top = pages.y
    for i, lines in enumerate(cells):
        w = laid.widths[i]
        pages.y = top + 1.5
        text = "\n".join(lines)
        if laid.right[i]:
            pages.text(
                x + w - CELL_PAD_PT,
                text,
                laid.size_pt,
                ha="right",
                weight="bold" if bold else "normal",
            )
        else:
            pages.text(
                x + CELL_PAD_PT,
                text,
                laid.size_pt,
                ha="left",
                weight="bold" if bold else "normal",
            )
        x += w
    pages.y = top + h


def _draw_table(pages: _PageSet, table: Table, usable_pt: float) -> None:
    laid = _layout(table, usable_pt)
    x1 = MARGIN_X_PT + sum(laid.widths)
    head_h = laid.height(laid.header)
    first_rows = sum(laid.height(r) for r in laid.rows[:3])
    title_h = TITLE_PT * LINE_FACTOR * 1.2
    # Start on a new page unless the title, the header and three rows (or the whole of a short
    # table) fit here.
    if pages.room < title_h + head_h + first_rows + 12:
        pages.new_page()
    elif pages.y > TOP_PT:
        pages.y += 14  # space between tables
    continued = False

    def start(title: str) -> None:
        pages.text(MARGIN_X_PT, title, TITLE_PT, weight="bold")
        pages.y += title_h
        pages.rule(MARGIN_X_PT, x1, 1.0)
        pages.y += 1.0
        _draw_row(pages, laid, laid.header, bold=True)
        pages.rule(MARGIN_X_PT, x1, 0.5)
        pages.y += 1.0

    start(table.title)
    if not laid.rows:
        pages.text(MARGIN_X_PT + CELL_PAD_PT, "None.", laid.size_pt, style="italic")
        pages.y += laid.line_pt + 2
    banded = len(laid.rows) > 6
    # The note stays with the table's last row (a note cut from its table reads as nothing).
    note_h = (
        len(_wrap(table.note, usable_pt, NOTE_PT)) * NOTE_PT * LINE_FACTOR + 4 if table.note else 0
    )
    last = len(laid.rows) - 1
    for k, cells in enumerate(laid.rows):
        if pages.room < laid.height(cells) + 4 + (note_h if k == last else 0):
            pages.rule(MARGIN_X_PT, x1, 1.0)
            pages.new_page()
            continued = True
            start(f"{table.title} (continued)")
        _draw_row(pages, laid, cells, band=banded and k % 2 == 1, bold=k in table.emphasis)
    pages.rule(MARGIN_X_PT, x1, 1.0)
    pages.y += 4
    if table.note:
        _paragraph(pages, table.note, NOTE_PT, usable_pt, color="#333333")
    del continued


def table_pages(
    tables: Sequence[Table],
    *,
    preface: Callable[[_PageSet, float], None] | None = None,
) -> list[Figure]:
    """Every table flowed down A4 landscape pages (headers and numbers are added later).

    ``preface`` draws the report's opening lines at the top of the first page."""
    pages = _PageSet()
    usable = PAGE_IN[0] * 72 - 2 * MARGIN_X_PT
    pages.new_page()
    if preface is not None:
        preface(pages, usable)
    for table in tables:
        _draw_table(pages, table, usable)
    return pages.pages


def cover_preface(
    title: str, lines: Sequence[tuple[str, str]]
) -> Callable[[_PageSet, float], None]:
    """The report's opening on page 1: its title, then label–value lines (wrapped)."""

    def draw(pages: _PageSet, usable: float) -> None:
        pages.text(MARGIN_X_PT, title, 15, weight="bold")
        pages.y += 15 * LINE_FACTOR * 1.3
        # Labels are set in bold, about a tenth wider than the regular face measured here.
        label_w = 1.12 * max((text_width_pt(k, 9.0) for k, _ in lines), default=0.0) + 10
        for label, value in lines:
            wrapped = _wrap(value, usable - label_w, 9.0)
            pages.text(MARGIN_X_PT, label, 9.0, weight="bold")
            pages.text(MARGIN_X_PT + label_w, "\n".join(wrapped), 9.0)
            pages.y += len(wrapped) * 9.0 * LINE_FACTOR + 2
        pages.y += 6
        pages.rule(MARGIN_X_PT, MARGIN_X_PT + usable, 0.5)
        pages.y += 6

    return draw


def figure_page(fig: Figure, *, constrained: bool = False) -> Figure:
    """``fig`` moved onto an A4 landscape page at its own size (scaled down only if it is
    larger than the space between the header and the footer), centred.

    A ``constrained`` figure has its layout solved again at the size it will have on the page
    (type sizes stay, so a scaled-down figure is laid out afresh rather than squeezed); then,
    as for any other figure, every axes and figure-level text is moved by figure fraction."""
    w_in, h_in = fig.get_size_inches()
    page_w, page_h = PAGE_IN
    avail_w = page_w - 2 * MARGIN_X_PT / 72
    avail_h = page_h - (TOP_PT + BOTTOM_PT) / 72
    scale = min(1.0, avail_w / w_in, avail_h / h_in)
    box_w, box_h = w_in * scale, h_in * scale
    # Already laid out at its own size (the PNG was drawn first, then the layout fixed) and
    # placed at that size: nothing to solve again.
    unsolved = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    if constrained and (unsolved or scale < 1.0):
        fig.set_size_inches(box_w, box_h)
        fig.set_layout_engine("constrained")
        engine = fig.get_layout_engine()
        assert engine is not None
        engine.execute(fig)
    x0 = (page_w - box_w) / 2 / page_w
    y0 = (BOTTOM_PT / 72 + (avail_h - box_h) / 2) / page_h
    sx, sy = box_w / page_w, box_h / page_h
    fig.set_layout_engine("none")
    for ax in fig.axes:
        b = ax.get_position()
        ax.set_position((x0 + b.x0 * sx, y0 + b.y0 * sy, b.width * sx, b.height * sy))
    for t in fig.texts:
        x, y = t.get_position()
        t.set_position((x0 + x * sx, y0 + y * sy))
    fig.set_size_inches(page_w, page_h)
    return fig


def number_pages(pages: Sequence[Figure], header: PageHeader) -> None:
    """The running header (study · report kind; run date · data cut-off) and "Page k of N"."""
    n = len(pages)
    for k, fig in enumerate(pages, start=1):
        left = f"{header.study} · {header.kind}"
        right = " · ".join(
            x
            for x in (
                f"Run {header.run_date}" if header.run_date else "",
                f"Data cut-off {header.cutoff}" if header.cutoff else "",
            )
            if x
        )
        y_top = 1 - 22 / (PAGE_IN[1] * 72)
        x_l = MARGIN_X_PT / (PAGE_IN[0] * 72)
        x_r = 1 - x_l
        fig.text(x_l, y_top, left, fontsize=7.5, family=FONT, color="#333333", va="baseline")
        fig.text(
            x_r, y_top, right, fontsize=7.5, family=FONT, color="#333333", ha="right", va="baseline"
        )
        line_y = y_top - 5 / (PAGE_IN[1] * 72)
        fig.add_artist(
            Line2D([x_l, x_r], [line_y, line_y], lw=0.4, color="#888888", transform=fig.transFigure)
        )
        y_bottom = 18 / (PAGE_IN[1] * 72)
        fig.text(
            0.5, y_bottom, f"Page {k} of {n}", fontsize=7.5, family=FONT, ha="center",
            va="baseline",
        )  # fmt: skip
        if header.confidential:
            fig.text(
                x_l, y_bottom, header.confidential, fontsize=7.5, family=FONT, color="#8b0000",
                va="baseline",
            )  # fmt: skip
