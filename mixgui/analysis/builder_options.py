"""The builder's model options: the outcome's family and the settings of the tests, owned by the draft.

A :class:`~mixgui.analysis.builder.ModelDraft` carries these fields under the analysis file's names
(``family``, ``link``, ``trials``, ``nagq``, ``kr_information``, ``kr_variant``, ``vcov``, ``weights``,
``anova_types``, ``predictions``); an offset is part of the formula (the draft's ``offsets``). Here:
the one edit that changes them (:func:`set_options`, which keeps them consistent with each other),
their way into and out of a spec, and what the builder offers from the outcome's values
(:func:`family_offer`), which never changes the draft: the user decides.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mixgui.analysis import options as O
from mixgui.analysis.outcome import OutcomeKind, outcome_kind
from mixgui.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from mixgui.analysis.builder import ModelDraft
    from mixgui.analysis.spec import AnalysisSpec

#: the draft's fields that are options of the analysis file under the same names
OPTION_FIELDS = ("family", "link", "trials", "nagq", "kr_information", "kr_variant", "vcov", "weights",
                 "anova_types", "predictions")
FAMILY_LABELS = {c.value: c.label for c in O.FAMILIES}
FAMILY_HELP = {c.value: c.help for c in O.FAMILIES}
LINK_LABELS = {c.value: c.label for c in O.LINK_CHOICES}
COUNT_FAMILIES = ("poisson", "negative_binomial")
MAX_NAGQ = 25  # lme4's limit


def _known(value, allowed, what: str):
    if value in allowed:
        return value
    near = O.nearest(str(value), [str(a) for a in allowed])
    raise SpecError(f"{what} {value!r} is not known; " + (f'did you mean "{near}"?' if near
                                                          else f"use one of {', '.join(map(str, allowed))}"))


def consistent(opts: dict) -> dict:
    """``opts`` (option fields) made consistent as the analysis file requires.

    The family's canonical link is written as None (so a file says only what differs); a link of
    another family falls back to the canonical one; ``trials`` belongs to the binomial family and
    quadrature to generalized models.
    """
    out = dict(opts)
    family = out.get("family", "gaussian")
    links = O.LINKS[family]
    if out.get("link") not in links[1:]:
        out["link"] = None
    if family != "binomial":
        out["trials"] = None
    if family == "gaussian":
        out["nagq"] = 1
    return out


def set_options(d: ModelDraft, **changes) -> ModelDraft:
    """The draft with some options changed (a new family drops a link or trials it cannot use).

    Parameters
    ----------
    d : ModelDraft
    **changes
        Option fields (:data:`OPTION_FIELDS`) and their new values; None means the default.

    Raises
    ------
    SpecError
        An unknown option or value (named, with the nearest known one).
    """
    new = {}
    for key, value in changes.items():
        _known(key, OPTION_FIELDS, "option")
        if key == "family":
            value = _known(value or "gaussian", O.values(O.FAMILIES), "family")
        elif key == "link" and value is not None:
            value = _known(value, tuple(dict.fromkeys(v for ls in O.LINKS.values() for v in ls)), "link")
        elif key == "nagq":
            value = min(max(int(value or 1), 1), MAX_NAGQ)
        elif key == "kr_information" and value is not None:
            value = _known(value, O.values(O.KR_INFORMATION), "Kenward-Roger information")
        elif key == "kr_variant" and value is not None:
            value = _known(value, O.KR_VARIANTS, "Kenward-Roger variant")
        elif key == "vcov":
            value = _known(value or "model", O.values(O.VCOV_TYPES), "covariance")
        elif key == "anova_types":
            value = tuple(sorted({int(_known(str(t), O.values(O.ANOVA_TYPES), "ANOVA type")) for t in value or ()}))
        elif key == "predictions":
            value = bool(value)
        elif key in ("trials", "weights"):
            value = value or None
        new[key] = value
    if "family" in new and new["family"] != d.family and "link" not in new:
        new["link"] = None  # the old family's link: the new family starts from its canonical one
    return replace(d, **consistent({**options_of(d), **new}))


def options_of(d) -> dict:
    """The option fields of a draft or a spec, as a dict."""
    return {k: getattr(d, k) for k in OPTION_FIELDS}


def options_to_spec(d: ModelDraft) -> dict:
    """The spec fields of the draft's options.

    Kenward-Roger's information and variant are written only with Kenward-Roger df: under another
    df method they would change nothing, and the draft keeps them for when KR is chosen again.
    """
    out = consistent(options_of(d))
    if d.df_method != "kenward-roger":
        out["kr_information"] = out["kr_variant"] = None
    return out


def options_from_spec(spec: AnalysisSpec) -> dict:
    """The draft fields of a spec's options (the inverse of :func:`options_to_spec`)."""
    return options_of(spec)


# -- what the builder shows beside the options -------------------------------------------------

def kr_default(d: ModelDraft) -> str:
    """The information Kenward-Roger uses when none is chosen: observed with a repeated structure (as SAS),
    expected otherwise (as pbkrtest)."""
    rep = d.repeated
    return "observed" if rep is not None and rep.subject and rep.index else "expected"


def nagq_allowed(d: ModelDraft) -> bool:
    """Whether quadrature with more than one point is possible: a generalized model whose only random
    effect is one random intercept of one grouping (as lme4 requires)."""
    if d.family == "gaussian" or len(d.groupings) != 1 or d.repeated is not None:
        return False
    g = d.groupings[0]
    return g.intercept and not g.slopes and len(g.factors) == 1


def anova_always(d: ModelDraft) -> int:
    """The ANOVA table every fit gives: Type III for a mixed model, Type I (sequential) for a regression."""
    return 3 if d.groupings or d.repeated is not None else 1


@dataclass(frozen=True)
class FamilyOffer:
    """What the builder says about the outcome: ``message`` in words and the ``families`` it offers,
    the one that suits best first (none when only a warning is to be given)."""

    message: str
    families: tuple = ()


def family_offer(d: ModelDraft, values: pd.Series | None, kind: OutcomeKind | None = None) -> FamilyOffer | None:
    """The family the outcome's values suggest, when it is not the one chosen (None: nothing to say).

    Two values suggest "binary (logistic)"; non-negative whole numbers suggest Poisson and negative
    binomial (the better one first); a continuous outcome under a generalized family suggests the
    linear model. Successes out of n trials are left alone (they look like counts by design).
    ``kind``: the outcome's kind when already known (the window keeps it with its data).
    """
    if not d.outcome or values is None or (d.family == "binomial" and d.trials):
        return None
    kind = kind if kind is not None else outcome_kind(d.outcome, values)
    if kind.kind == "unusable":
        return FamilyOffer(kind.message) if kind.message else None
    if kind.kind == "binary":
        return None if d.family == "binomial" else FamilyOffer(kind.message, ("binomial",))
    if kind.kind == "count":
        if d.family == kind.family:
            return None
        others = tuple(f for f in COUNT_FAMILIES if f != kind.family)
        families = tuple(f for f in (kind.family,) + others if f != d.family)
        return FamilyOffer(kind.message, families)
    if d.family != "gaussian":
        return FamilyOffer(f"{d.outcome} is neither a yes/no outcome nor a count: a continuous (linear) model "
                           "suits it.", ("gaussian",))
    return None
