"""The Bolt listeners, one module per kind, and the parser of ``/upgrade`` text.

Thin on purpose: each listener acks, parses, calls one use case (``bot/usecases/``) and shows
its answer. ``register`` adds them all to an app; only the composition root calls it.
"""
