"""The workflow's guards, one module per part of the protocol: pure functions of the state and
the :class:`~ketamine_ptsd.core.workflow.facts.WorkflowFacts`, each refusing with its rule and §.
:mod:`..table` names them in its rows."""
