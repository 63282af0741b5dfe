"""Result sections of repeated-measures (SAS PROC MIXED style) analyses, kept apart from the
contract assembly: the Kenward-Roger settings, the settings echo, positions and the SAS extras.

The Kenward-Roger footnote of the tables is :func:`mixgui.results.render_extra.kr_footnote`.
"""
from __future__ import annotations


def kr_information(spec) -> str:
    """The information matrix Kenward-Roger uses for ``spec``.

    The analysis file's ``kr_information`` when given; otherwise the observed information when the
    model has a repeated (R-side) structure, so a SAS user gets SAS's numbers, and the expected
    information for random effects only, so an lmerTest / pbkrtest user gets theirs.
    """
    if spec.kr_information:
        return spec.kr_information
    return "observed" if spec.repeated is not None else "expected"


def weights(spec, design):
    """The rows' weights (SAS WEIGHT) as numbers, or None; refused unless all are positive numbers."""
    if not spec.weights:
        return None
    import numpy as np
    import pandas as pd

    from mixgui.errors import DataError

    w = pd.to_numeric(design.frame[spec.weights], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise DataError(f'the weights column "{spec.weights}" must hold positive numbers in every row used; '
                        "choose a numeric column, or drop the rows with zero or negative weights.")
    return w


def group_codes(spec, design) -> dict:
    """``group`` and ``group_levels`` for the engine (SAS GROUP=), or {} without a group."""
    if not spec.repeated.group:
        return {}
    from mixgui.data.levels import sorted_levels

    col = design.frame[spec.repeated.group].astype(str)
    levels = [str(v) for v in sorted_levels(col)]
    return {"group": col.map({v: k for k, v in enumerate(levels)}).to_numpy(), "group_levels": levels}


def settings_echo(spec, inference) -> dict:
    """The settings the results were computed with (the contract's echo keys)."""
    out = {"vcov": spec.vcov}
    if spec.weights:
        out["weights"] = spec.weights
    if inference.method == "kenward-roger":
        out["kr_information"] = inference.kr_information
        out["kr_variant"] = inference.kr_variant
    return out


def position_codes(design, dataset, rep):
    """Subject codes, index positions, position labels and coordinates of a repeated structure.

    Positions are the sorted distinct values of the index (a missing visit is a gap). For a
    spatial structure the index must be numeric (a continuous time), or a list of numeric columns
    (points: positions are the distinct points, distances Euclidean); ``coordinates`` is the (T, d)
    array of the positions' values when the index is numeric, otherwise None.

    Without ``dataset`` the index is read from the design's own copy of the rows (a refit).

    Raises
    ------
    DataError
        A spatial structure on an index that is not numeric.
    """
    import numpy as np
    import pandas as pd

    from mixgui.data.levels import sorted_levels
    from mixgui.engine.repeated.structures import SPATIAL
    from mixgui.errors import DataError

    cols = list(rep.index_columns)
    if dataset is None:
        raw = design.frame[cols].reset_index(drop=True)
    else:
        raw = dataset.frame[cols].iloc[design.rows].reset_index(drop=True)
    spatial = rep.structure in SPATIAL
    num = raw.apply(lambda s: pd.to_numeric(s, errors="coerce"))
    coords = None
    if spatial:
        bad = [c for c in cols if num[c].isna().any()]
        if bad:
            raise DataError(f'{rep.structure} measures the time between visits, so its index "{bad[0]}" must be '
                            "numeric (e.g. days or months since baseline); choose a numeric time column, or a "
                            "structure for visits (AR1, TOEP, UN).")
        pts, position = np.unique(num.to_numpy(dtype=float), axis=0, return_inverse=True)
        coords = pts
        labels = [",".join(str(int(v)) if float(v).is_integer() else str(v) for v in p) for p in pts]
        position = np.asarray(position).ravel()
    else:
        idx_raw, idx_num = raw[cols[0]], num[cols[0]]
        if idx_num.notna().all():
            values = np.sort(idx_num.unique())
            labels = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
            position = np.searchsorted(values, idx_num.to_numpy())
            coords = values.astype(float)[:, None]  # a numeric index is a time (spatial structures compared)
        else:
            labels = sorted_levels(idx_raw.astype(str))
            position = pd.Categorical(idx_raw.astype(str), categories=labels).codes
    subj = design.frame[rep.subject].astype(str)
    subject = pd.Categorical(subj, categories=sorted_levels(subj)).codes.astype(np.int64)
    return subject, np.asarray(position, dtype=np.int64), labels, coords


def apply_vcov(spec, fit, inference) -> None:
    """``"vcov": "empirical"``: the sandwich covariance (CR0, SAS EMPIRICAL) replaces the model-based
    one in every standard error, test and limit; the df stay those of ``df_method``."""
    if spec.vcov == "empirical":
        from mixgui.engine.repeated.extras import empirical_vcov
        inference.vcov = empirical_vcov(fit)


def _hessian(fit, inference):
    """Hessian of -2 l in the natural parameters: analytic (REML), central differences (ML)."""
    import numpy as np

    eng = getattr(inference, "_engine", None)
    if getattr(eng, "hessian", None) is not None:
        return eng.hessian
    if fit.reml:
        from mixgui.engine.inference.kenward_roger import KenwardRoger
        return KenwardRoger(fit, information="observed").hessian
    m, x0 = fit._model, np.asarray(fit.kr_par, float)
    k = len(x0)
    h = 1e-4 * np.maximum(np.abs(x0), 1e-2)

    def f(x):
        ev = m.evaluate_natural(x)
        return np.nan if ev is None else ev.f

    H, f0 = np.zeros((k, k)), f(x0)
    for i in range(k):
        ei = np.eye(k)[i] * h[i]
        H[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.eye(k)[j] * h[j]
            H[i, j] = H[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (
                4 * h[i] * h[j])
    return H


def add_sections(spec, design, fit, inference, data: dict, warnings: list) -> None:
    """Repeated-measures sections: covariance parameters (COVTEST), AICc, null-model LRT, predictions."""
    import numpy as np

    from mixgui.engine.repeated import extras
    from mixgui.errors import FitWarning

    try:
        data["covariance_parameters"] = extras.covariance_parameters(fit, _hessian(fit, inference))
    except (np.linalg.LinAlgError, ValueError) as e:
        warnings.append(FitWarning("not_computed", f"Standard errors of the covariance parameters could not be "
                                   f"computed ({e}).", "repeated"))
    data.update(extras.fit_statistics(fit))
    if spec.predictions:
        p = extras.predictions(fit, inference.vcov, inference.df)
        rows = np.asarray(design.rows)
        keys = ("fitted", "std_error", "lower", "upper", "fitted_marginal", "std_error_marginal",
                "lower_marginal", "upper_marginal", "residual", "pearson_residual")
        order = np.argsort(rows, kind="stable")
        data["predictions"] = [dict({"row": int(rows[i])}, **{k: float(p[k][i]) for k in keys}) for i in order]
        if fit.blocks:
            warnings.append(FitWarning("not_computed", "Standard errors and limits of the conditional fitted "
                                       "values (with the random effects) are not computed; the marginal ones are "
                                       "given.", "predictions"))
