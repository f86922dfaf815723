"""digest: turn a list of feeds into a finished newsletter issue, and send it."""

__version__ = "0.1.0"
