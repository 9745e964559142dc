"""``export`` (the record in a data standard) and ``import long`` (a site's own data, analysed).

SYSTEM.md capability 11. ``ketamine-ptsd export --db URL --format sdtm|adam|odm|redcap|fhir|csv|parquet
--out DIR --user USERNAME [--password-stdin] [--protocol rct]`` logs the user in through the
auth service (password prompted, or read from the first line of stdin), so the role check
(``data.export`` + ``analysis_dataset.read``), the blind (the user's own sanction: no arm, "A"/"B"
or arm ids, PROTOCOL.md §3) and the ``export`` audit event are the services' own. csv/parquet
are the analysis frames (services/exports.py); sdtm/adam/odm/redcap/fhir the interop
converters (SDTM and ADaM each with define.xml).

``ketamine-ptsd import long DATA.csv --subject COL --group COL --time COL --measure COL
--value COL --out DIR`` reads a long-format CSV (adapters/interop/long_import.py), runs the §9
analysis on it (core/analysis.analyse) and writes the report (HTML + PDF) and the
imported dataset into DIR. Errors name the column and the row; never a traceback.

``ketamine-ptsd import odm FILE.xml --out DIR [--protocol rct]`` reads a CDISC ODM 1.3.2 file
(adapters/interop/odm.py) into the analysis frames, writes them and, when the file carries arms,
the §9 report.

``ketamine-ptsd import redcap RECORDS.csv --dictionary DICT.csv --out DIR [--protocol rct]`` reads
a REDCap project's flat records export and its data dictionary (adapters/interop/redcap_import.py)
into the analysis frames, writes them and, when the dictionary has an arm field, the §9 report.
Errors name the file, the row and the column.

``--out`` is a new or empty folder, or one this program wrote before; an existing file or a
folder of other files is refused (adapters/cli/output.py: the commands never write over what is
not theirs).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ketamine_ptsd.adapters.cli.calculators import ProtocolDirOption, use_protocol_dirs
from ketamine_ptsd.adapters.cli.output import (
    claim_folder,
    fail,
    output_folder,
    print_json,
    write_output,
)
from ketamine_ptsd.adapters.private_files import private_dir, write_private

__all__ = ["register"]

FORMATS = ("sdtm", "adam", "odm", "redcap", "fhir", "csv", "parquet")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def export(
    fmt: Annotated[
        str, typer.Option("--format", help="sdtm, adam, odm, redcap, fhir, csv or parquet.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    user: Annotated[str, typer.Option("--user", help="Username to log in as (a statistician).")],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite file (default: as for serve)."),
    ] = None,
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol to export.")] = "rct",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    as_json: JsonOption = False,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Export a protocol's data as SDTM, ADaM, ODM, REDCap, FHIR R4, or the analysis frames."""
    use_protocol_dirs(protocol_dir)
    from ketamine_ptsd.adapters.cli.admin_cmds import open_services, resolve_url
    from ketamine_ptsd.adapters.interop import CONVERTERS
    from ketamine_ptsd.services import (
        AccountLocked,
        AuthenticationFailed,
        PermissionDenied,
        ServiceError,
    )
    from ketamine_ptsd.services.interop_exports import InteropExportService

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    url = resolve_url(db)
    target = output_folder(out)  # before the export: a refused folder exports nothing
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    services, database = open_services(url)
    try:
        try:
            actor = services.auth.login(user, password).actor
        except (AuthenticationFailed, AccountLocked):
            fail(f"login failed for {user!r}")
        try:
            if fmt in ("csv", "parquet"):
                files = services.exports.analysis_dataset(actor, protocol_name=protocol, fmt=fmt)
            else:
                interop = InteropExportService(
                    services.context, services.datasets, services.audit, CONVERTERS
                )
                files = interop.export(actor, protocol_name=protocol, fmt=fmt)
        except PermissionDenied:
            fail(f"{user!r} may not export data (needs data.export and analysis_dataset.read)")
        except ServiceError as exc:
            fail(f"export refused: {exc}")
    finally:
        database.dispose()
    claim_folder(target)
    for f in files:
        try:
            write_output(target, f.name, f.content)
        except OSError as exc:
            fail(f"--out {out}: cannot write {f.name} ({exc.strerror or exc})")
    summary = {
        "format": fmt,
        "protocol": protocol,
        "out": str(target),
        "files": [{"name": f.name, "rows": f.rows} for f in files],
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(f"{fmt} export of {protocol} written to {target}:")
    for f in files:
        typer.echo(f"  {f.name}  ({f.rows} rows)")


def import_long_cmd(
    data: Annotated[
        Path, typer.Argument(help="Long-format CSV: one row per subject, time, measure.")
    ],
    subject: Annotated[str, typer.Option("--subject", help="Subject id column.")],
    group: Annotated[str, typer.Option("--group", help="Arm column.")],
    time: Annotated[str, typer.Option("--time", help="Time point column.")],
    measure: Annotated[str, typer.Option("--measure", help="Measure name column.")],
    value: Annotated[str, typer.Option("--value", help="Value column (numbers; blank = missing).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and the dataset.")],
    group_order: Annotated[
        str | None, typer.Option("--group-order", help="Arms, active first: A,B.")
    ] = None,
    time_order: Annotated[
        str | None, typer.Option("--time-order", help="Time points in order: a,b,c.")
    ] = None,
    measures: Annotated[
        str | None, typer.Option("--measures", help="Expected measures (others are refused).")
    ] = None,
    ordinal: Annotated[
        str | None,
        typer.Option("--ordinal", help="Measures for the cumulative-logit model (CGI-like)."),
    ] = None,
    subject_column: Annotated[
        list[str] | None,
        typer.Option("--subject-column", help="Subject-level column for Table 1 (repeatable)."),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = (
        "Imported long-format trial"
    ),
    as_json: JsonOption = False,
) -> None:
    """Import a site's long-format data, analyse it (PROTOCOL.md §9) and write the report."""
    import pandas as pd

    from ketamine_ptsd.adapters.interop import import_long
    from ketamine_ptsd.adapters.reports import build_report
    from ketamine_ptsd.core.analysis import analyse
    from ketamine_ptsd.core.errors import InvalidInput
    from ketamine_ptsd.services.spreadsheet import csv_bytes

    target = output_folder(out)
    try:
        frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        fail(f"{data}: no such file")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(f"{data}: not a readable CSV ({type(exc).__name__})")
    try:
        imported = import_long(
            frame,
            subject=subject,
            group=group,
            time=time,
            measure=measure,
            value=value,
            group_order=_split(group_order),
            time_order=_split(time_order),
            measures=_split(measures),
            ordinal=_split(ordinal) or (),
            subject_columns=subject_column or (),
            title=title,
        )
        results = analyse(imported.dataset, outcomes=imported.outcomes)
    except InvalidInput as exc:
        fail(f"{data}: {exc.field}: {exc.message}")
    claim_folder(target)
    files = build_report(results, target, generated_on=dt.date.today(), parallel=True)
    dataset_dir = private_dir(target / "dataset")
    for name in ("subjects", "outcomes"):
        write_private(dataset_dir / f"{name}.csv", csv_bytes(imported.dataset.frames[name]))
    summary: dict[str, Any] = {
        "n_subjects": imported.n_subjects,
        "rows_read": imported.rows_read,
        "missing_values": imported.missing_values,
        "arms": list(imported.dataset.arms),
        "analysed": sorted([*results.mmrm, *results.ordinal]),
        "not_analysed": list(results.missing),
        "report": str(target / "index.html"),
        "pdf": str(target / "report.pdf"),
        "files": [str(p) for p in _paths(files)],
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"imported {imported.rows_read} rows: {imported.n_subjects} subjects, arms "
        f"{', '.join(imported.dataset.arms)}, {imported.missing_values} missing values"
    )
    typer.echo(f"analysed: {', '.join(summary['analysed']) or 'nothing'}")
    for line in results.missing:
        typer.echo(f"not analysed: {line}")
    typer.echo(f"report written to {target / 'index.html'} and {target / 'report.pdf'}")


def import_odm_cmd(
    data: Annotated[Path, typer.Argument(help="A CDISC ODM 1.3.2 file (export --format odm).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and the dataset.")],
    protocol: Annotated[
        str, typer.Option("--protocol", help="The protocol the file's study follows.")
    ] = "rct",
    as_json: JsonOption = False,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Import an ODM file into the analysis frames, analyse them (PROTOCOL.md §9) and write the
    report and the frames (CSV). A file without arms (a blinded export) is imported, not
    analysed."""
    from ketamine_ptsd.adapters.interop import odm
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.adapters.reports import build_report
    from ketamine_ptsd.core.analysis import AnalysisDataset, analyse
    from ketamine_ptsd.core.errors import InvalidInput
    from ketamine_ptsd.services.spreadsheet import csv_bytes

    dirs = use_protocol_dirs(protocol_dir)
    target = output_folder(out)
    try:
        content = data.read_bytes()
    except FileNotFoundError:
        fail(f"{data}: no such file")
    try:
        spec = load_protocol(protocol, dirs)
        imported = odm.read_odm(content, spec)
    except InvalidInput as exc:
        fail(f"{data}: {exc.field}: {exc.message}")
    claim_folder(target)
    dataset_dir = private_dir(target / "dataset")
    for name, frame in imported.frames.items():
        write_private(dataset_dir / f"{name}.csv", csv_bytes(frame))
    summary: dict[str, Any] = {
        "study": imported.study,
        "n_subjects": imported.subjects,
        "arms": list(imported.arms),
        "rows": {name: len(frame) for name, frame in imported.frames.items()},
        "dataset": str(dataset_dir),
    }
    if imported.arms:
        try:
            results = analyse(
                AnalysisDataset(imported.frames, imported.arms),
                plan=spec.analysis,
                response=spec.response,
            )
        except InvalidInput as exc:
            fail(f"{data}: {exc.field}: {exc.message}")
        files = build_report(results, target, generated_on=dt.date.today(), parallel=True)
        summary["analysed"] = sorted([*results.mmrm, *results.ordinal])
        summary["report"] = str(target / "index.html")
        summary["files"] = [str(p) for p in _paths(files)]
    else:
        summary["analysed"] = []
        summary["not_analysed"] = "the file carries no arm (a blinded export)"
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"imported {imported.subjects} subjects of {imported.study} into {dataset_dir}; "
        f"arms: {', '.join(imported.arms) or 'none (blinded)'}"
    )
    if imported.arms:
        typer.echo(f"report written to {target / 'index.html'} and {target / 'report.pdf'}")


def import_redcap_cmd(
    data: Annotated[
        Path,
        typer.Argument(help="REDCap records, flat CSV (export --format redcap's records.csv)."),
    ],
    dictionary: Annotated[
        Path, typer.Option("--dictionary", help="The project's data dictionary CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and the dataset.")],
    protocol: Annotated[
        str, typer.Option("--protocol", help="The protocol the project follows.")
    ] = "rct",
    as_json: JsonOption = False,
    protocol_dir: ProtocolDirOption = None,
) -> None:
    """Import a REDCap export (records + data dictionary) into the analysis frames, analyse them
    (PROTOCOL.md §9) and write the report and the frames (CSV). Without an arm field (a blinded
    export) the frames are imported, not analysed."""
    import pandas as pd

    from ketamine_ptsd.adapters.interop.redcap_import import read_redcap
    from ketamine_ptsd.adapters.protocol_store import load_protocol
    from ketamine_ptsd.core.errors import InvalidInput

    dirs = use_protocol_dirs(protocol_dir)
    target = output_folder(out)
    tables = []
    for path in (data, dictionary):
        try:
            tables.append(pd.read_csv(path, dtype=str, keep_default_na=False))
        except FileNotFoundError:
            fail(f"{path}: no such file")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            fail(f"{path}: not a readable CSV ({type(exc).__name__})")
    try:
        spec = load_protocol(protocol, dirs)
        imported = read_redcap(
            tables[0],
            tables[1],
            spec,
            records_file=str(data),
            dictionary_file=str(dictionary),
        )
    except InvalidInput as exc:
        fail(exc.message)
    _write_imported(
        target, spec, imported.frames, imported.arms, imported.study, imported.subjects, as_json
    )


def _write_imported(
    target: Path,
    spec: Any,
    frames: dict[str, Any],
    arms: tuple[str, ...],
    study: str,
    subjects: int,
    as_json: bool,
) -> None:
    """Write imported frames (and, with arms, the §9 report) into ``target`` and summarise."""
    from ketamine_ptsd.adapters.reports import build_report
    from ketamine_ptsd.core.analysis import AnalysisDataset, analyse
    from ketamine_ptsd.core.errors import InvalidInput
    from ketamine_ptsd.services.spreadsheet import csv_bytes

    claim_folder(target)
    dataset_dir = private_dir(target / "dataset")
    for name, frame in frames.items():
        write_private(dataset_dir / f"{name}.csv", csv_bytes(frame))
    summary: dict[str, Any] = {
        "study": study,
        "n_subjects": subjects,
        "arms": list(arms),
        "rows": {name: len(frame) for name, frame in frames.items()},
        "dataset": str(dataset_dir),
    }
    if arms:
        try:
            results = analyse(
                AnalysisDataset(frames, arms), plan=spec.analysis, response=spec.response
            )
        except InvalidInput as exc:
            fail(f"{exc.field}: {exc.message}")
        files = build_report(results, target, generated_on=dt.date.today(), parallel=True)
        summary["analysed"] = sorted([*results.mmrm, *results.ordinal])
        summary["report"] = str(target / "index.html")
        summary["files"] = [str(p) for p in _paths(files)]
    else:
        summary["analysed"] = []
        summary["not_analysed"] = "the file carries no arm (a blinded export)"
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"imported {subjects} subjects of {study} into {dataset_dir}; "
        f"arms: {', '.join(arms) or 'none (blinded)'}"
    )
    if arms:
        typer.echo(f"report written to {target / 'index.html'} and {target / 'report.pdf'}")


def _paths(files: Any) -> list[Path]:
    """The files a ``ReportFiles`` names: the HTML, the PDF and the figures."""
    return [Path(files.index_html), Path(files.pdf), *(Path(f) for f in files.figures)]


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    import_app = typer.Typer(help="Import a site's own data for analysis.", no_args_is_help=True)
    import_app.command("long")(import_long_cmd)
    import_app.command("odm")(import_odm_cmd)
    import_app.command("redcap")(import_redcap_cmd)
    app.add_typer(import_app, name="import")
