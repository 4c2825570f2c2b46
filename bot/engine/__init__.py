"""The engine: commands through the state machine and the store to action, and time-driven work.

``engine`` drives runs (commands, the runners' tasks, previews, cancels, ``tick``), ``speaker`` and
``notices`` say what the bot says by itself, ``ticker`` wakes ``tick``, ``runners/`` holds one
runner per action type. Knows nothing of Slack or the terminal: front ends subscribe to it.
"""
