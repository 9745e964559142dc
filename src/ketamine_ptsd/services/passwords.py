"""Password policy after NIST SP 800-63B §5.1.1.2 (memorized secrets; issue 16 §5).

* At least ``min_length`` characters (``SecurityPolicy.min_password_length``), at most
  :data:`MAX_LENGTH` (the standard asks that at least 64 be allowed); every printable character,
  spaces included, counts. No composition rules (upper/lower/digit/symbol) — the standard
  advises against them.
* Refused: a password on the list of common passwords shipped with the package
  (``data/common-passwords.txt.gz``: the 20,000 most common, from Django, BSD licence — see
  ``data/COMMON-PASSWORDS-LICENSE.txt``), compared case-insensitively; one that contains the
  username; one made of a short repeated pattern (``aaaaaaaaaa``, ``abcabcabcabc``); and one
  that is a run of consecutive characters (``1234567890``, ``abcdefghijk``, ``qwertyuiop``).

:func:`check_password` raises ValidationFailed naming ``password`` with the reason, never
echoing the password.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
from importlib import resources

from .errors import ValidationFailed

__all__ = ["MAX_LENGTH", "check_password", "common_passwords"]

MAX_LENGTH = 128
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_REPEATED = re.compile(r"(.{1,4}?)\1+", re.DOTALL)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case), loaded once."""
    data = resources.files("ketamine_ptsd.services").joinpath("data/common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _is_sequence(text: str) -> bool:
    """Each character one step up (or down) from the last, in the alphabet, the digits or a
    keyboard row (``abcdef``, ``987654``, ``qwerty``)."""
    for step in (1, -1):
        if all(ord(b) - ord(a) == step for a, b in itertools.pairwise(text)):
            return True
    return any(text in row or text in row[::-1] for row in _KEYBOARD_ROWS)


def check_password(password: str, *, username: str, min_length: int) -> None:
    """ValidationFailed naming ``password`` unless ``password`` meets the policy."""

    def refuse(message: str) -> None:
        raise ValidationFailed("password", message, None)  # never echo a password

    if len(password) < min_length:
        refuse(f"must be at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        refuse(f"must be at most {MAX_LENGTH} characters")
    folded = password.lower()
    if folded in common_passwords() or folded.strip() in common_passwords():
        refuse("is on the list of commonly used passwords; choose another")
    if username and username.lower() in folded:
        refuse("must not contain the username")
    if _REPEATED.fullmatch(folded):
        refuse("must not be a short pattern repeated (such as 'aaaa…' or 'abcabc…')")
    if _is_sequence(folded):
        refuse("must not be a run of consecutive characters (such as '1234…' or 'qwerty…')")
