"""Registration codes (编码登记, nonroad brief A1): kept as issued, matched normalised.

A code is an opaque string issued by the national or a city's platform; meaning is never parsed
out of it. ``code_norm`` (NFKC, upper case, without ``·``, ``-`` and spaces) is what matching uses.
Format checks are per-issuer regexes from ``rules.toml`` (ships with the default only).
"""

from __future__ import annotations

import re
import unicodedata

from ecobasin.machinery.tables import MachineryRules, machinery_rules

__all__ = ["code_problem", "disclosure_stage", "normalise_code"]

_SEPARATORS = re.compile(r"[·\-\s]")


def normalise_code(code: str) -> str:
    """The matching form of a code: NFKC, upper case, separators removed.

    >>> normalise_code("川A·0012-ab")
    '川A0012AB'
    >>> normalise_code("ＣＮ－０１")
    'CN01'
    """
    text = unicodedata.normalize("NFKC", code).upper()
    return _SEPARATORS.sub("", text)


def code_problem(code: str, issuer_city: int, rules: MachineryRules | None = None) -> str | None:
    """Why ``code`` as issued by ``issuer_city`` is malformed, or None when it is fine.

    The issuer's own pattern (on ``code_norm``) when it has one, else the default pattern (on the
    code as issued, NFKC upper case).
    """
    rules = rules or machinery_rules()
    text = unicodedata.normalize("NFKC", code).upper().strip()
    if not text:
        return "registration code is empty 登记编码为空"
    for city_pattern in rules.code_patterns:
        if city_pattern.issuer_city == issuer_city:
            if re.fullmatch(city_pattern.pattern, normalise_code(code)):
                return None
            return (
                f"registration code {code!r} does not match the pattern of issuer {issuer_city} "
                f"({city_pattern.source}) 编码格式不符"
            )
    if re.fullmatch(rules.default_code_pattern, text):
        return None
    return (
        f"registration code {code!r} is not 1–20 characters of digits, A–Z, Chinese, '·' or '-' "
        "编码格式不符"
    )


def disclosure_stage(disclosure_no: str | None) -> str | None:
    """The emission stage written in a 环保信息公开编号 (characters 5–6, e.g. ``G3``), or None.

    The layout (24 characters: CN, FJ, stage, noise stage, …) is one manufacturer's published
    rule, marked [verify] in the brief (A1); only a ``G0``–``G4`` field is read.

    >>> disclosure_stage("CNFJG3000123456789012345")
    'G3'
    >>> disclosure_stage("short") is None
    True
    """
    if not disclosure_no:
        return None
    text = normalise_code(disclosure_no)
    field = text[4:6] if len(text) >= 6 and text.startswith("CN") else ""
    return field if re.fullmatch(r"G[0-4]", field) else None
