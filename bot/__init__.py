"""The running bot: one sub-package per role, and on top the CLI that assembles them.

The roles: the engine and its runners, the Slack surface, the terminal demo, the configuration,
the wiring of real and simulated systems, the reports, the running service, the use cases.

Each sub-package is one role (see ``docs/architecture.md``). The modules at this top level
(``cli``, ``serve``, ``app``, ``logs``) are the composition root: they assemble the parts and
nothing imports them.
"""
