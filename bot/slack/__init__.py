"""The Slack surface below the listeners: Block Kit messages, posting and editing them, announcing.

``blocks`` (Block Kit primitives within Slack's limits), ``messages`` (a run's header and step
messages, status, App Home), ``forms`` (the modals), ``updates`` (the edit budget),
``front`` (the engine listener that posts and edits), ``announcer`` (announcements, notices,
direct messages). The Bolt listeners are in ``handlers/``.
"""
