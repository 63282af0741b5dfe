"""Readers of single values of the analysis file, each refusing a wrong value with a sentence.

Shared by :mod:`mixgui.analysis.spec` and the project file; every message names the key and shows
what it should look like.
"""
from __future__ import annotations

import json
import math

from mixgui.analysis import options as O
from mixgui.analysis.options import nearest
from mixgui.errors import SpecError


def check_keys(d: dict, known, where: str, newer: bool = False) -> list:
    """Refuse keys of ``d`` that are not in ``known``, naming the nearest known key.

    Parameters
    ----------
    d : dict
    known : iterable of str
    where : str
        Where the keys sit, for the message ("the analysis file", "\"repeated\"").
    newer : bool
        The file says it is of a newer version: unknown keys are skipped and returned (the caller
        turns them into a warning) instead of refused.

    Returns
    -------
    list of str
        The skipped keys (empty unless ``newer``).
    """
    known = tuple(known)
    unknown = [k for k in d if k not in known]
    if unknown and not newer:
        k = unknown[0]
        near = nearest(k, known)
        hint = f'; did you mean "{near}"?' if near else f"; known keys are {', '.join(known)}"
        raise SpecError(f'{where} has an unknown key "{k}"{hint}')
    return unknown


def known_value(v: str, allowed, key: str) -> str:
    """Refuse a value not in ``allowed``, naming the nearest allowed one."""
    if v in allowed:
        return v
    near = nearest(v, allowed)
    hint = f'did you mean "{near}"?' if near else f"use one of {', '.join(allowed)}"
    raise SpecError(f'{key} {shown(v)} is not known; {hint}')


def yes_no(d: dict, key: str) -> bool:
    """A yes/no option: true/false (1/0 accepted); missing or null is false."""
    v = d.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool) and not (isinstance(v, int) and v in (0, 1)):
        raise SpecError(f'"{key}" must be true or false (got {shown(v)})')
    return bool(v)


def whole_number(v, key: str, low: int, high: int, what: str) -> int:
    """A whole number in [low, high] (2000.0 accepted); missing or null is ``low``."""
    if v is None:
        return low
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise SpecError(f'"{key}" must be a whole number from {low} to {high}{what} (got {shown(v)})')
    return v


def shown(v) -> str:
    """A wrong value as the user wrote it, shortened for a one-line message."""
    text = json.dumps(v, default=str) if not isinstance(v, str) else f'"{v}"'
    return text if len(text) <= 40 else text[:37] + "..."


def df_alias(v: str) -> str:
    v = v.lower().replace("_", "-")
    return {"kr": "kenward-roger", "kenwardroger": "kenward-roger", "z": "none", "bw": "between-within",
            "betweenwithin": "between-within"}.get(v, v)


def choice(d: dict, key: str, default: str, allowed: tuple, norm, hint: str) -> str:
    """A text option that must be one of ``allowed`` (after ``norm``); missing or null gives ``default``.

    A misspelt value is refused with the nearest allowed one (``"gausian"`` -> ``"gaussian"``).
    """
    v = d.get(key)
    if v is None or v == "":
        return default
    if not isinstance(v, str):
        raise SpecError(f"{key} {shown(v)} is not known; {hint}")
    if norm(v) in allowed:
        return norm(v)
    near = nearest(norm(v), allowed)
    raise SpecError(f"{key} {shown(v)} is not known; " + (f'did you mean "{near}"?' if near else hint))


def column_name(v, what: str) -> str:
    """A column name: text (a whole number is accepted and read as its digits)."""
    if isinstance(v, str) and v:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise SpecError(f"{what} must name a column as text, like \"Subject\" (got {shown(v)})")


def level_name(v, column) -> str:
    """A reference level: text or a number (10 and 10.0 both mean the level written 10)."""
    if isinstance(v, str):
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return str(v)
    raise SpecError(f'the reference level of "{column}" must be one of its values, like "Male" or 10 (got {shown(v)})')


def anova_types_from(v) -> tuple:
    """The ANOVA tables asked for: a sorted tuple of 1, 2, 3."""
    if v in (None, "", []):
        return ()
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        if str(x) not in ("1", "2", "3"):
            raise SpecError(f'anova_types holds {x!r}; use a list of 1, 2 and/or 3 (type I, II, III tables)')
        out.append(int(x))
    return tuple(sorted(set(out)))


def as_tuple(v, what: str = '"specs"') -> tuple:
    if v is None:
        return ()
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return (column_name(v, what),)
    if isinstance(v, list):
        return tuple(column_name(x, what) for x in v)
    raise SpecError(f'{what} must be a factor name or a list of them, like "Sex" or ["Sex", "Time"] (got {shown(v)})')


MAX_NAGQ = 25  # lme4's limit for adaptive Gauss-Hermite quadrature


def generalized_options(d: dict) -> dict:
    """``family``, ``link``, ``trials`` and ``nagq`` of an analysis file, checked against each other."""
    family = choice(d, "family", "gaussian", O.values(O.FAMILIES), lambda v: v.lower().replace(" ", "_"),
                    f"use one of {', '.join(O.values(O.FAMILIES))}")
    link = d.get("link")
    if link not in (None, ""):
        allowed = O.LINKS[family]
        all_links = tuple(dict.fromkeys(x for v in O.LINKS.values() for x in v))
        link = choice(d, "link", allowed[0], all_links, lambda v: v.lower(), f"use one of {', '.join(allowed)}")
        if link not in allowed:
            raise SpecError(f'link "{link}" does not go with family "{family}"; use {" or ".join(allowed)}')
    else:
        link = None
    trials = d.get("trials")
    trials = None if trials in (None, "") else column_name(trials, '"trials"')
    if trials is not None and family != "binomial":
        raise SpecError(f'"trials" gives the number of trials of a binomial outcome; set "family": "binomial" '
                        f'or remove "trials" (family is "{family}")')
    nagq = whole_number(d.get("nagq"), "nagq", 1, MAX_NAGQ, " (1 = Laplace; more points only with one random intercept)")
    if nagq > 1 and family == "gaussian":
        raise SpecError('"nagq" sets the quadrature of a generalized model; a linear model needs none. '
                        'Set "family" or remove "nagq"')
    return {"family": family, "link": link, "trials": trials, "nagq": nagq}


def sas_options(d: dict) -> dict:
    """``kr_information``, ``kr_variant``, ``vcov`` and ``weights`` of an analysis file."""
    kri = d.get("kr_information")
    if kri not in (None, ""):
        kri = choice(d, "kr_information", "observed", O.values(O.KR_INFORMATION), lambda v: v.lower(),
                     'use "observed" (SAS) or "expected" (pbkrtest)')
    else:
        kri = None
    krv = d.get("kr_variant")
    if krv not in (None, "", "plain", "kr"):
        krv = choice(d, "kr_variant", "linear", O.KR_VARIANTS, lambda v: v.lower(), 'use "linear" (SAS KR(LINEAR))')
    else:
        krv = None
    vcov = choice(d, "vcov", "model", O.values(O.VCOV_TYPES), lambda v: v.lower(),
                  'use "model" or "empirical" (the sandwich estimator)')
    weights = d.get("weights")
    weights = None if weights in (None, "") else column_name(weights, '"weights"')
    return {"kr_information": kri, "kr_variant": krv, "vcov": vcov, "weights": weights}
