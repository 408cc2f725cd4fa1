"""schemathesis hooks for infra/schemathesis/run.sh: the rules of the management API that
infra/openapi.yaml states in words but no schema can express.

A JSON Schema can't say that a cursor must be one the API issued for the same query, or that a
recover window must start before it ends, in the past, and span at most 14 days. Requests that
break such a rule are schema-valid, so schemathesis's positive_data_acceptance check (ST202)
expects them to be accepted, and the API answers 400 as documented (docs/decisions.md and
the operations' descriptions).

No check is turned off and no operation left out. `filter_failure` below drops exactly one kind
of failure: an ST202 whose 400 names the rule and whose request this file, on its own, finds
to break that rule. A 400 for any other reason, or for a request that keeps the rule, still
fails the run; so does every other check on the same requests.
"""

from __future__ import annotations

import atexit
import re
import sys
import threading
import time
from collections import Counter
from fractions import Fraction
from typing import Any
from urllib.parse import unquote

import schemathesis
from schemathesis.core.failures import Failure

# Cursors the API answered with, as (method, path) -> {cursor: the query's filters}.
_issued: dict[tuple[str, str], dict[str, tuple]] = {}
_issued_lock = threading.Lock()

# The filters a cursor of each listing belongs to (see logsCursor and instancesCursor in
# shared/manage).
_CURSOR_FILTERS = {
    ("GET", "/api/webhook/logs"): ("instanceId", "status", "event"),
    ("GET", "/api/instances"): (),
    ("GET", "/api/instance/{instanceId}/messages"): ("path.instanceId", "chatId", "status"),
}

_MAX_RECOVER_WINDOW = 14 * 86400


def _filters(key: tuple[str, str], case: Any) -> tuple:
    """The query a cursor belongs to: its query filters and, as path.<name>, path parameters."""
    query, path = case.query or {}, case.path_parameters or {}
    return tuple(str(path.get(name[5:], "") if name.startswith("path.") else query.get(name, ""))
                 for name in _CURSOR_FILTERS[key])


def _json(response: Any) -> Any:
    try:
        return response.json()
    except Exception:
        return None


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Remember every cursor a listing answers with, and the query it answered."""
    key = (case.method.upper(), case.operation.path)
    if key not in _CURSOR_FILTERS or response.status_code != 200:
        return
    body = _json(response)
    pagination = body.get("pagination") if isinstance(body, dict) else None
    cursor = pagination.get("nextCursor") if isinstance(pagination, dict) else None
    if isinstance(cursor, str):
        with _issued_lock:
            _issued.setdefault(key, {})[cursor] = _filters(key, case)


def _made_up_cursor(case: Any) -> bool:
    """Whether the request's cursor is not one the API issued for this very query."""
    key = (case.method.upper(), case.operation.path)
    if key not in _CURSOR_FILTERS:
        return False
    cursor = (case.query or {}).get("cursor")
    if cursor is None:
        return False
    with _issued_lock:
        issued_for = _issued.get(key, {}).get(str(cursor))
    return issued_for is None or issued_for != _filters(key, case)


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))")


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date, for any year from 0 (Go's range)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _time(value: Any) -> Fraction | None:
    """An RFC 3339 time as seconds since 1970, to the nanosecond as Go reads it, or None."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    seconds = Fraction(_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
    if m.group(7):
        digits = m.group(7)[1:10]  # Go keeps nanoseconds and drops further digits
        seconds += Fraction(int(digits), 10 ** len(digits))
    if m.group(8):
        offset = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        seconds -= offset if m.group(8) == "+" else -offset
    return seconds


def _broken_recover_rules(case: Any, now: Fraction) -> set[str]:
    """The messages POST /api/webhook/retry answers for the window rules this body breaks."""
    body = case.body if isinstance(case.body, dict) else {}
    since, until = _time(body.get("since")), _time(body.get("until"))
    if since is None:
        return set()
    if "until" in body and until is None:
        return set()
    if until is None:
        until = now
    broken = set()
    if since >= until:
        broken.add("since: must be before until")
    elif until - since > _MAX_RECOVER_WINDOW:
        broken.add("since: the window may cover at most 14 days")
    elif since > now:
        broken.add("since: must not be in the future")
    return broken


_MESSAGE_TYPES = ("text", "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction", "poll")


def _other_member(case: Any, message: str) -> bool:
    """POST messages: the type's member is missing, or another is given (DESIGN.md §7)."""
    body = case.body if isinstance(case.body, dict) else {}
    t = body.get("type")
    if t in _MESSAGE_TYPES and t not in body and message == f"{t}: required for type {t}":
        return True
    return any(message == f"{m}: not allowed with type {t}" for m in _MESSAGE_TYPES if m != t and m in body)


def _read_sender(case: Any, message: str) -> bool:
    """POST chats/{chatId}/read: sender is required in a group and refused elsewhere."""
    body = case.body if isinstance(case.body, dict) else {}
    group = unquote(str((case.path_parameters or {}).get("chatId", ""))).endswith("@g.us")
    if group and "sender" not in body:
        return message.startswith("sender: required in a group")
    if not group and "sender" in body:
        return message.startswith("sender: only in a group")
    return False


def _edit_member(case: Any, message: str) -> bool:
    """PUT messages/{messageId}: exactly one of text and caption, the one the target's type takes."""
    body = case.body if isinstance(case.body, dict) else {}
    if "text" in body and "caption" in body:
        return message.startswith("body: give exactly one of text")
    return (message.startswith("caption: message ") and "is a text message: give text" in message) or \
        (message.startswith("text: message ") and message.endswith(": give caption"))


_MESSAGE_RULES = {
    ("POST", "/api/instance/{instanceId}/messages"): _other_member,
    ("POST", "/api/instance/{instanceId}/chats/{chatId}/read"): _read_sender,
    ("PUT", "/api/instance/{instanceId}/messages/{messageId}"): _edit_member,
}


def _documented_rejection(case: Any, message: str) -> bool:
    key = (case.method.upper(), case.operation.path)
    if message == "cursor: not a cursor this API issued for this query" or message == "cursor: belongs to another query":
        return _made_up_cursor(case)
    if key in _MESSAGE_RULES:
        return _MESSAGE_RULES[key](case, message)
    if key == ("POST", "/api/webhook/retry"):
        # The API read its clock after this request was sent and before the answer came.
        now = Fraction(time.time_ns(), 10**9)
        return message in _broken_recover_rules(case, now)
    return False


# How many ST202 failures each rule accounted for, printed when the run ends.
_accepted: Counter[str] = Counter()


@atexit.register
def _summary() -> None:
    if _accepted:
        lines = "".join(f"  {n:5d}  {message}\n" for message, n in sorted(_accepted.items()))
        sys.stderr.write("Rejections of schema-valid requests that break a documented rule (hooks.py):\n" + lines)


@schemathesis.hook
def filter_failure(context: Any, failure: Failure, case: Any, response: Any) -> bool:
    """Keep every failure but an ST202 for a rule the schema can't express and the request breaks."""
    if failure.code != "ST202" or response.status_code != 400:
        return True
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or error.get("code") != "invalid_request":
        return True
    if not _documented_rejection(case, message):
        return True
    _accepted[message] += 1
    return False
