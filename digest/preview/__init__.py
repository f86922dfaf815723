"""``digest preview``: the issue in a browser, rebuilt and reloaded on every save.

``rebuild`` (one worker thread, offline re-renders), ``watch`` (watchfiles over the
config, the notes and the templates), ``server`` (out/ and the preview's pages, server
-sent events), ``pages`` (the preview's pages and the send preview), ``app`` (wiring).
"""

from .app import Preview, PreviewError, serve
from .rebuild import Status

__all__ = ["Preview", "PreviewError", "Status", "serve"]
