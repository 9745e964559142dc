"""The command-line adapter: ``ketamine-ptsd``.

Each command group lives in its own module with a ``register(app)`` function; ``app.py`` wires
them together. Commands parse, call the core or a service, and print (text, or JSON with
``--json``). Bad input exits non-zero with one line naming the problem, never a traceback.
"""
