"""Parse a class roster CSV into validated rows, or say exactly what is wrong.

The format is a header line and one student per line::

    username,first_name,last_name,email,password
    carol,Carol,King,carol@example.org,
    dave,Dave,,,

Only ``username`` is required; the other columns may be absent or empty. A
missing password means the account gets a generated one that the teacher sees
once. Parsing is pure: it touches no database, so the import can validate the
whole file before it writes anything.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

MAX_ROSTER_BYTES = 512 * 1024
MAX_ROSTER_ROWS = 2000
KNOWN_COLUMNS = ("username", "first_name", "last_name", "email", "password")
USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RosterError(ValueError):
    """A roster that cannot be imported; the message names the row and column."""


@dataclass(frozen=True)
class RosterRow:
    line: int  # line number in the file, header = 1, as a spreadsheet shows it
    username: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    password: str = ""


def parse_roster(data: bytes) -> list[RosterRow]:
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"the file is {len(data)} bytes; the limit is {MAX_ROSTER_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(f"the file is not UTF-8 text (byte {exc.start} is invalid)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError("the file is empty; expected a header line starting with 'username'") from None
    except csv.Error as exc:
        raise RosterError(f"line 1: {exc}") from None
    columns = [h.strip().lower() for h in header]
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise RosterError(f"line 1: unknown column {unknown[0]!r}; allowed columns are {', '.join(KNOWN_COLUMNS)}")
    if "username" not in columns:
        raise RosterError("line 1: the header has no 'username' column")
    if len(set(columns)) != len(columns):
        raise RosterError("line 1: a column appears twice in the header")

    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines are harmless
            if len(rows) >= MAX_ROSTER_ROWS:
                raise RosterError(f"line {line}: more than {MAX_ROSTER_ROWS} students in one file")
            if len(record) != len(columns):
                raise RosterError(
                    f"line {line}: expected {len(columns)} fields ({', '.join(columns)}), found {len(record)}"
                )
            values = {col: cell.strip() for col, cell in zip(columns, record, strict=True)}
            rows.append(_validate(line, values, seen))
    except csv.Error as exc:
        raise RosterError(f"line {reader.line_num}: {exc}") from None
    if not rows:
        raise RosterError("the file has a header but no students")
    return rows


def _validate(line: int, values: dict[str, str], seen: dict[str, int]) -> RosterRow:
    username = values["username"]
    if not username:
        raise RosterError(f"line {line}: column 'username' is empty")
    if not USERNAME_RE.match(username):
        raise RosterError(f"line {line}: username {username!r} may contain only letters, digits and @ . + - _")
    key = username.lower()
    if key in seen:
        raise RosterError(f"line {line}: username {username!r} already appears on line {seen[key]}")
    seen[key] = line
    email = values.get("email", "")
    if email and not EMAIL_RE.match(email):
        raise RosterError(f"line {line}: email {email!r} is not an email address")
    for col in ("first_name", "last_name"):
        if len(values.get(col, "")) > 150:
            raise RosterError(f"line {line}: column {col!r} is longer than 150 characters")
    return RosterRow(
        line=line,
        username=username,
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        email=email,
        password=values.get("password", ""),
    )
