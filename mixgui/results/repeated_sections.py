"""Result sections of repeated-measures (SAS PROC MIXED style) analyses, kept apart from the
contract assembly: the Kenward-Roger settings and their footnote, and the settings echo.
"""
from __future__ import annotations

KR_NOTE = {
    "observed": "Kenward-Roger with the observed information (as SAS PROC MIXED DDFM=KR)",
    "expected": "Kenward-Roger with the expected information (as R's pbkrtest)",
}


def kr_information(spec) -> str:
    """The information matrix Kenward-Roger uses for ``spec``.

    The analysis file's ``kr_information`` when given; otherwise the observed information when the
    model has a repeated (R-side) structure, so a SAS user gets SAS's numbers, and the expected
    information for random effects only, so an lmerTest / pbkrtest user gets theirs.
    """
    if spec.kr_information:
        return spec.kr_information
    return "observed" if spec.repeated is not None else "expected"


def settings_echo(spec, inference) -> dict:
    """The settings the results were computed with (the contract's echo keys)."""
    out = {"vcov": spec.vcov}
    if inference.method == "kenward-roger":
        out["kr_information"] = inference.kr_information
        out["kr_variant"] = inference.kr_variant
    return out


def kr_footnote(d: dict) -> str | None:
    """The fixed-effects table's note saying which Kenward-Roger was computed (None otherwise)."""
    if d.get("df_method") != "kenward-roger" or d.get("kr_information") not in KR_NOTE:
        return None
    text = KR_NOTE[d["kr_information"]]
    if d.get("kr_variant") == "linear":
        text += "; KR(LINEAR): the adjusted covariance leaves out the second-derivative term"
    return text + "."
