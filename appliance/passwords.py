"""Password policy: long enough, not one of the passwords guessed first, not the user's own name.

Used wherever a password is set (appliance.accounts: `user add`, `user passwd`, `init
--admin-password-stdin`, the admin's reset and the change-password page). A refusal is one sentence.

Why a small shipped list and not zxcvbn (its PyPI port, 4.5.0, is available; a switch to its score is
still to be weighed): what matters here is the online guess (sign-in is throttled, web/pages/auth.py): an
attacker sprays the passwords at the top of the leaked lists, in their usual variations. So this refuses
(1) the common passwords of 10 or more characters (shorter ones are refused by length already), (2) a
common word or keyboard walk with only digits and symbols around it, in leetspeak too ("P@ssw0rd2024!",
"Welcome123", "qwerty12345"), (3) a straight run or one repeated character ("1234567890", "aaaaaaaaaa"),
and (4) a password containing the user name. Anything else of 10+ characters passes: a few unrelated
words are the advice shown.
"""
from __future__ import annotations

import re

MIN_LENGTH = 10

# Common passwords of 10+ characters (lower case), from the top of the public leaked-password lists.
COMMON = frozenset("""
0000000000 0123456789 0987654321 1111111111 1122334455 1212121212 1231231234 123123123123 1234512345
1234567890 1234567891 12345678910 123456789a 123456789q 1234567890q 123456789abc 1234qwerasdf 1q2w3e4r5t
1q2w3e4r5t6y 1qaz2wsx3edc 1qazxsw23edc 2wsx3edc4rfv 7894561230 9876543210 987654321a a123456789
aa12345678 abc1234567 abcd123456 abcdefghij administrator asdfghjkl1 asdfghjkl; asdfghjkl123
basketball basketball1 butterfly1 butterfly123 cheesecake chocolate1 chocolate123 christmas1
correcthorsebatterystaple iloveyou12 iloveyou123 letmein123 liverpool1 liverpool123 manchester
manchester1 minecraft1 minecraft123 passw0rd123 password12 password123 password1234 password12345
password! password1! p@ssw0rd123 pokemon123 q1w2e3r4t5 q1w2e3r4t5y6 qazwsxedc123 qazwsxedcrfv
qwerty1234 qwerty12345 qwerty123456 qwertyuiop qwertyuiop123 spiderman1 spiderman123 strawberry
sunshine123 superman123 watermelon welcome123 welcome1234 zaq12wsxcde3 zxcvbnm123 zxcvbnmasdfghjkl
""".split())

# Words (and keyboard walks) that a password must be more than, once the digits and symbols around
# them are taken off and leetspeak is read back as letters.
COMMON_WORDS = frozenset("""
abc abcd abcdef admin administrator apple arsenal asdf asdfgh asdfghjkl autumn azerty baseball
basketball batman changeme charlie cheese chelsea chocolate computer cookie default dragon football
freedom google guest hello hockey hunter iloveyou internet jennifer jordan killer letmein liverpool
login love lovely manchester master michael minecraft monkey mustang ninja pass passw passwd password
passwort pokemon princess qazwsx qwer qwert qwerty qwertyuiop qwertz samsung secret shadow soccer
spring starwars summer sunshine superman test testing trustno user welcome whatever winter zxcvbnm
january february march april may june july august september october november december
store shop appliance till
""".split())

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm",
         "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm", "1q2w3e4r5t6y7u8i9o0p")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

ADVICE = "a few unrelated words work well"


def problem(password: str, username: str = "") -> str | None:
    """Why this password is refused, as one sentence; None when it may be used."""
    if len(password) < MIN_LENGTH:
        return f"Password must have at least {MIN_LENGTH} characters."
    lowered = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and (name in lowered or name in lowered.translate(_LEET)):
        return "Password must not contain the user name."
    if _is_common(lowered):
        return f"Password is one of the most common passwords, which are guessed first: choose another ({ADVICE})."
    if len(set(lowered)) <= 2 or _is_run(lowered):
        return f"Password is a run or a repeat of characters, which is guessed first: choose another ({ADVICE})."
    return None


def _is_common(lowered: str) -> bool:
    if lowered in COMMON or lowered.translate(_LEET) in COMMON:
        return True
    core = _EDGES.sub("", lowered)
    for candidate in {core, _EDGES.sub("", lowered.translate(_LEET)), core.translate(_LEET)}:
        if candidate in COMMON_WORDS:
            return True  # a common word dressed up with digits and symbols
    return False


def _is_run(lowered: str) -> bool:
    compact = re.sub(r"[\W_]", "", lowered)
    for run in _RUNS:
        for sequence in (run, run[::-1]):
            if len(compact) >= 6 and (compact in sequence * 2):
                return True
    return False
