"""The pure domain core: protocols, instruments, clinical rules and statistics.

Nothing here touches a database, the web, files, the clock or global randomness; callers pass
time and random generators in.
"""
