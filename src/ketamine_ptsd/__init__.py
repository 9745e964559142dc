"""ketamine-ptsd: repeated intravenous ketamine for chronic PTSD, run safely and analysed to trial grade.

Layers (imports point inward):
- ``ketamine_ptsd.core``: the pure domain — protocols, instruments, clinical rules, statistics.
  No database, web, files, clock or global randomness.
- ``ketamine_ptsd.simulation``: seeded synthetic trials and Monte Carlo design (pure, RNG injected).
- ``ketamine_ptsd.services``: use cases, one transaction each, permission checks and audit.
- ``ketamine_ptsd.adapters``: the only code that does I/O (db, web, cli, reports, interop).
"""

__version__ = "0.1.0"
