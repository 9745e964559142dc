"""ADaM dataset metadata: variables in order, labels, types, keys, classes (ADaM IG 1.3).

Labels are the ADaM Implementation Guide's where the IG defines the variable (ADSL, BDS, TTE and
OCCDS variables) and this project's otherwise (marked "sponsor" below); all at most 40
characters, the SAS transport v5 limit. The ``*DT`` variables are SAS dates (numeric, DATE9.)
in the transport files and ISO 8601 dates in the CSV files.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DATASET_CLASSES",
    "DATASET_KEYS",
    "DATASET_LABELS",
    "DATASET_VARIABLES",
    "DATE_VARIABLES",
    "NUMERIC_VARIABLES",
    "SPONSOR_VARIABLES",
    "VARIABLE_LABELS",
]

_TRT = ("TRTP", "TRTPN", "TRTA", "TRTAN")
_TRACE = ("SRCDOM", "SRCVAR", "SRCSEQ")

DATASET_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "ADSL": (
        "STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "RACEREC",
        "ETHNIC", "ARM", "ACTARM", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "RANDDT", "TRTSDT",
        "TRTEDT", "ITTFL", "SAFFL", "COMPLFL", "EOSSTT", "DCSREAS", "NUMINF", "BMIBL",
        "PTSDDUR", "CAPSPMBL", "MADRSBL", "MDDFL", "PSYTHFL", "PSYMEDFL", "TRAUMA", "RESPFL",
    ),
    "ADQS": (
        "STUDYID", "USUBJID", *_TRT, "PARAMCD", "PARAM", "PARCAT1", "AVAL", "BASE", "CHG",
        "PCHG", "ADT", "AVISIT", "AVISITN", "ABLFL", "ANL01FL", "CRIT1", "CRIT1FL", "ITTFL",
        *_TRACE,
    ),
    "ADTTE": (
        "STUDYID", "USUBJID", *_TRT, "PARAMCD", "PARAM", "AVAL", "STARTDT", "ADT", "CNSR",
        "EVNTDESC", "CNSDTDSC", "ITTFL", *_TRACE,
    ),
    "ADAE": (
        "STUDYID", "USUBJID", "AESEQ", "TRTA", "TRTAN", "AETERM", "AELLT", "AELLTCD",
        "AEDECOD", "AEPTCD", "AEHLT", "AEHLGT", "AEBODSYS", "AEBDSYCD", "AESOC", "AESEV", "AESER",
        "AEREL", "AEACNOTH", "AEOUT", "AESTDTC", "ASTDT", "ASTDY", "INFNUM", "TRTEMFL",
        "SAFFL",
    ),
}  # fmt: skip

DATASET_LABELS: Mapping[str, str] = {
    "ADSL": "Subject-Level Analysis Dataset",
    "ADQS": "Questionnaire Analysis Dataset",
    "ADTTE": "Time-to-Event Analysis Dataset",
    "ADAE": "Adverse Events Analysis Dataset",
}

#: ADaM class of each dataset (define.xml ``def:Class``).
DATASET_CLASSES: Mapping[str, str] = {
    "ADSL": "SUBJECT LEVEL ANALYSIS DATASET",
    "ADQS": "BASIC DATA STRUCTURE",
    "ADTTE": "BASIC DATA STRUCTURE",
    "ADAE": "OCCURRENCE DATA STRUCTURE",
}

#: The natural keys of each dataset: unique in every file written (a test checks it).
DATASET_KEYS: Mapping[str, tuple[str, ...]] = {
    "ADSL": ("USUBJID",),
    "ADQS": ("USUBJID", "PARAMCD", "AVISITN", "SRCSEQ"),
    "ADTTE": ("USUBJID", "PARAMCD"),
    "ADAE": ("USUBJID", "AESEQ"),
}

VARIABLE_LABELS: Mapping[str, str] = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "RACE": "Race",
    "RACEREC": "Race as Recorded",
    "ETHNIC": "Ethnicity",
    "ARM": "Description of Planned Arm",
    "ACTARM": "Description of Actual Arm",
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01PN": "Planned Treatment for Period 01 (N)",
    "TRT01A": "Actual Treatment for Period 01",
    "TRT01AN": "Actual Treatment for Period 01 (N)",
    "RANDDT": "Date of Randomization",
    "TRTSDT": "Date of First Exposure to Treatment",
    "TRTEDT": "Date of Last Exposure to Treatment",
    "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag",
    "COMPLFL": "Completers Population Flag",
    "EOSSTT": "End of Study Status",
    "DCSREAS": "Reason for Discontinuation from Study",
    "NUMINF": "Number of Infusions Received",
    "BMIBL": "Baseline BMI (kg/m2)",
    "PTSDDUR": "Duration of PTSD (years)",
    "CAPSPMBL": "Baseline CAPS-5 Past-Month Total",
    "MADRSBL": "Baseline MADRS Total",
    "MDDFL": "Comorbid Major Depression Flag",
    "PSYTHFL": "Concomitant Psychotherapy Flag",
    "PSYMEDFL": "Stable Psychotropic Medication Flag",
    "TRAUMA": "Primary Trauma Type",
    "RESPFL": "Responder Flag (Protocol Definition)",
    "TRTP": "Planned Treatment",
    "TRTPN": "Planned Treatment (N)",
    "TRTA": "Actual Treatment",
    "TRTAN": "Actual Treatment (N)",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "PARCAT1": "Parameter Category 1",
    "AVAL": "Analysis Value",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline",
    "ADT": "Analysis Date",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01",
    "CRIT1": "Analysis Criterion 1",
    "CRIT1FL": "Criterion 1 Evaluation Result Flag",
    "SRCDOM": "Source Data",
    "SRCVAR": "Source Variable",
    "SRCSEQ": "Source Sequence Number",
    "STARTDT": "Time-to-Event Origin Date for Subject",
    "CNSR": "Censor",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
    "AESEQ": "Sequence Number",
    "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term",
    "AELLT": "Lowest Level Term",
    "AELLTCD": "Lowest Level Term Code",
    "AEPTCD": "Preferred Term Code",
    "AEHLT": "High Level Term",
    "AEHLGT": "High Level Group Term",
    "AEBODSYS": "Body System or Organ Class",
    "AEBDSYCD": "Body System or Organ Class Code",
    "AESOC": "Primary System Organ Class",
    "AESEV": "Severity/Intensity",
    "AESER": "Serious Event",
    "AEREL": "Causality",
    "AEACNOTH": "Other Action Taken",
    "AEOUT": "Outcome of Adverse Event",
    "AESTDTC": "Start Date/Time of Adverse Event",
    "ASTDT": "Analysis Start Date",
    "ASTDY": "Analysis Start Relative Day",
    "INFNUM": "Infusion Number Before Onset",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
}

#: Variables this project defines (not in the ADaM IG): define.xml says so in their comment.
SPONSOR_VARIABLES = frozenset(
    {
        "RACEREC", "NUMINF", "BMIBL", "PTSDDUR", "CAPSPMBL", "MADRSBL", "MDDFL", "PSYTHFL", "PSYMEDFL",
        "TRAUMA", "RESPFL", "INFNUM",
    }
)  # fmt: skip

DATE_VARIABLES = frozenset({"RANDDT", "TRTSDT", "TRTEDT", "ADT", "STARTDT", "ASTDT"})

NUMERIC_VARIABLES = frozenset(
    {
        "AGE", "TRT01PN", "TRT01AN", "NUMINF", "BMIBL", "PTSDDUR", "CAPSPMBL", "MADRSBL",
        "TRTPN", "TRTAN", "AVAL", "BASE", "CHG", "PCHG", "AVISITN", "CNSR", "SRCSEQ", "AESEQ",
        "ASTDY", "INFNUM", "AELLTCD", "AEPTCD", "AEBDSYCD", *DATE_VARIABLES,
    }
)  # fmt: skip
