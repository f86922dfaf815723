"""Send: an issue folder and the recipients list become one SMTP message each.

- ``issue``: find and read ``out/<date>/`` (``email.html``, ``email.txt``, ``issue.json``);
- ``message``: compose one recipient's MIME message (headers, links, DKIM);
- ``transport``: the SMTP connection, TLS, AUTH, reply classes, the rate limit;
- ``delivery``: the send log, retries, resume, dry runs and test sends;
- ``daily``: ``digest run``, build and send once a day (imported on its own: it needs
  the whole build pipeline).
"""

from .delivery import (
    Outcome,
    SendSummary,
    dry_run_folder,
    plan,
    recipients_of,
    send_issue,
    send_test,
    write_dry_run,
)
from .issue import IssueFiles, find_issue, load_issue
from .message import Composer, unsubscribe_token, verify_token

__all__ = [
    "Composer",
    "IssueFiles",
    "Outcome",
    "SendSummary",
    "find_issue",
    "load_issue",
    "plan",
    "recipients_of",
    "send_issue",
    "send_test",
    "unsubscribe_token",
    "verify_token",
    "write_dry_run",
    "dry_run_folder",
]
