"""Interoperability: pure converters between the record's analysis extract and data standards
(SYSTEM.md capability 11) — CDISC SDTM (``sdtm``), ADaM (``adam``) with Define-XML 2.1 (``define``), CDISC ODM 1.3.2 both ways (``odm``), REDCap both ways (``redcap``, ``redcap_import``), FHIR R4 (``fhir``) —
and the import of a site's own long-format data for analysis (``long_import``).

The converters only transform; the service (``services/interop_exports.py``) checks roles,
applies the blind through the extraction and audits; the CLI writes the files.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketamine_ptsd.services.interop_exports import Converter

from . import adam, define, fhir, odm, redcap, redcap_import, sdtm
from .long_import import ImportedTrial, import_long

__all__ = [
    "CONVERTERS",
    "ImportedTrial",
    "adam",
    "define",
    "fhir",
    "import_long",
    "odm",
    "redcap",
    "redcap_import",
    "sdtm",
]

#: Format name → converter, for ``InteropExportService`` (the CLI's ``export --format``).
CONVERTERS: Mapping[str, Converter] = {
    "sdtm": sdtm.to_files,
    "adam": adam.to_files,
    "odm": odm.to_files,
    "redcap": redcap.to_files,
    "fhir": fhir.to_files,
}
