"""What people ask of the bot in Slack, as use cases: start, the run's commands, buttons, status.

The listeners of ``handlers/`` parse and call these; they answer with a :mod:`bot.usecases.answers`
value the listener shows. Never imports ``handlers/``.
"""
