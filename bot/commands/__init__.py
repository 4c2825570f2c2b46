"""The commands of ``upgrade-bot``, one module each, imported only when that command runs.

Each module has ``arguments(parser)`` (its options) and ``run(args, out) -> int`` (its exit
code). ``bot.cli`` knows them by name and one line of help, so that ``upgrade-bot --help`` and
a light command such as ``procedure validate`` never import what only another command needs
(the Kubernetes client, Bolt, the store's SQLAlchemy): the registry pattern of pip's
``pip._internal.commands`` (``commands_dict`` of module names, imported by ``create_command``).
"""
