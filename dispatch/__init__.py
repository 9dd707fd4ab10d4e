"""dispatch/ — what *happens* to a case: intake (the first step), the transition table and
its effects (the one rulebook, dispatch/workflow.py), who the actor is and what they may see,
departments and routing, the SLA clock and its calendar, the command centres' queues,
notifications, the case API and the case pages.

It imports cases/, grids/ and core/; nothing imports it but the project top (chaoyang/)
(docs/architecture.md).
"""
