"""An R script that redoes the analysis: the same data file, the same coding, the same model.

Mixed models use lme4 + lmerTest (``summary(m, ddf = ...)`` for the df method); residual
covariance structures use nlme (``gls``, or ``lme`` with random terms); ordinary regression uses
``lm``; marginal means and contrasts use emmeans with the same adjustment. Factor levels are
written out in MixGUI's order so the coding does not depend on R's locale. The model object is
always ``m`` and the fixed-effects table ``fixed`` (estimate, std_error, df, t_value, p_value).
"""
from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from mixgui import __version__
from mixgui.analysis.formula import quote
from mixgui.data.computed import Center, ClusterCenter, ClusterMean, Dichotomize, Log, Recode, Standardize
from mixgui.data.levels import level_label
from mixgui.data.reshape import LongToWide, WideToLong, parse_index

LMER_DDF = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}
EMM_LMER_DF = {"satterthwaite": "satterthwaite", "kenward-roger": "kenward-roger", "none": "asymptotic",
               "residual": "asymptotic"}
EMM_NLME_MODE = {"satterthwaite": "satterthwaite", "kenward-roger": "satterthwaite", "none": "asymptotic",
                 "residual": "df.error"}
NA_STRINGS = ("", "NA", "N/A", "n/a", "NaN", "nan", "#N/A", "NULL", "null")


def r_string(s) -> str:
    """A string as an R literal."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{s}"'


def r_value(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NA"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v))
    return r_string(v)


def r_vec(values) -> str:
    return "c(" + ", ".join(r_value(v) for v in values) + ")"


def col(name: str) -> str:
    """``d[["name"]]``: works for any column name, spaces included."""
    return f"d[[{r_string(name)}]]"


# -- data ------------------------------------------------------------------------------------

def _csv_dialect(path: Path, options):
    from mixgui.data.readers import decode_bytes, sniff_csv
    delim, dec, enc = ",", ".", "UTF-8-BOM"
    raw = None
    if path.is_file():  # not a folder: a project without a data file has the path "" (the current folder)
        try:
            with open(path, "rb") as f:
                raw = f.read(200_000)
        except OSError:
            raw = None  # unreadable now: the defaults, as for a file that is not there
    if raw is not None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            enc = "UTF-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "CP1252"
        text = decode_bytes(raw, path.name, getattr(options, "encoding", None))
        skip = getattr(options, "skip_rows", 0) if options else 0
        delim, dec = sniff_csv("\n".join(text.splitlines()[skip: skip + 200]))
        dec = "," if delim != "," and dec == "," else "."
    if options is not None:
        delim = {"\\t": "\t", "tab": "\t"}.get(options.delimiter or "", options.delimiter) or delim
        dec = options.decimal or dec
        if options.encoding:
            enc = {"utf-8": "UTF-8-BOM", "utf8": "UTF-8-BOM", "cp1252": "CP1252"}.get(options.encoding.lower(),
                                                                                     options.encoding)
    return delim, dec, enc


def read_lines(data_path, sheet=None, options=None) -> list:
    """R lines that read the data file into ``d`` as MixGUI reads it (import options included)."""
    path = Path(data_path)
    suffix = path.suffix.lower()
    skip = options.skip_rows if options else 0
    header = options.header if options else True
    after = options.skip_after_header if options else 0
    sheet = options.sheet if options and options.sheet else sheet
    lines = [f"data_file <- {r_string(path.as_posix())}  # change this if the data file moved"]
    if suffix == ".sav":
        lines += ["d <- haven::read_sav(data_file, user_na = FALSE)",
                  "# value labels become the values, as MixGUI shows them",
                  "d <- haven::as_factor(d, only_labelled = TRUE)",
                  "d[] <- lapply(d, function(v) if (is.factor(v)) as.character(v) else as.vector(haven::zap_labels(v)))",
                  "d <- as.data.frame(d, check.names = FALSE)"]
    elif suffix in (".xlsx", ".xlsm"):
        sh = r_string(sheet) if sheet else "1"
        na = r_vec(NA_STRINGS)
        if header and after:
            lines.append(f"hdr <- names(readxl::read_excel(data_file, sheet = {sh}, skip = {skip}, n_max = 0))")
            names = "hdr"
            skip_data = skip + 1 + after
        else:
            names = "TRUE" if header else "FALSE"
            skip_data = skip + (after if not header else 0)
        lines.append(f"d <- as.data.frame(readxl::read_excel(data_file, sheet = {sh}, skip = {skip_data}, "
                     f"col_names = {names}, na = {na}, guess_max = 100000), check.names = FALSE)")
        if not header:
            lines.append('names(d) <- paste0("V", seq_along(d))')
    else:
        delim, dec, enc = _csv_dialect(path, options)
        common = (f"sep = {r_string(delim)}, dec = {r_string(dec)}, fileEncoding = {r_string(enc)}, "
                  f"check.names = FALSE, strip.white = TRUE, na.strings = {r_vec(NA_STRINGS[:6] + ('.',))}")
        if header and after:
            lines.append(f"hdr <- names(read.csv(data_file, {common}, skip = {skip}, nrows = 1))")
            lines.append(f"d <- read.csv(data_file, {common}, skip = {skip + 1 + after}, header = FALSE)")
            lines.append("names(d) <- hdr")
        else:
            lines.append(f"d <- read.csv(data_file, {common}, skip = {skip + (0 if header else after)}, "
                         f"header = {'TRUE' if header else 'FALSE'})")
    if options is not None:
        lines += _missing_lines(options)
        formats = ', tryFormats = c("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d")' if options.dayfirst else ""
        for c in options.date_columns:
            lines.append(f'if (is.numeric({col(c)})) {col(c)} <- as.Date({col(c)}, origin = "1899-12-30")'
                         f" else {col(c)} <- as.Date({col(c)}{formats})")
    return lines


def _missing_lines(options) -> list:
    if not options.missing and not options.column_missing:
        return []
    lines = ["# missing-value codes: the cells become NA; a text column left with numbers only becomes numeric",
             "na_codes <- function(v, codes) {",
             "  hit <- !is.na(v) & tolower(trimws(as.character(v))) %in% tolower(codes)",
             "  if (!any(hit)) return(v)",
             "  v[hit] <- NA",
             "  if (is.character(v)) v <- type.convert(v, as.is = TRUE)",
             "  v",
             "}"]
    glob = [level_label(c) for c in options.missing]
    if glob:
        lines.append(f"d[] <- lapply(d, na_codes, codes = {r_vec(glob)})")
    for c, codes in options.column_missing.items():
        lines.append(f"{col(c)} <- na_codes({col(c)}, {r_vec([level_label(x) for x in codes])})")
    return lines


def reshape_lines(step) -> list:
    """R lines for a wide->long or long->wide step on ``d``."""
    if isinstance(step, WideToLong):
        idx = list(parse_index(step.columns) if step.index_values is None else step.index_values)
        lines = [f"rep_cols <- {r_vec(step.columns)}", f"occasions <- {r_vec(idx)}"]
        if step.id_name:
            lines.append(f"if (!({r_string(step.id_name)} %in% names(d))) "
                         f"d <- cbind(setNames(data.frame(seq_len(nrow(d))), {r_string(step.id_name)}), d)")
        lines += ["keep <- setdiff(names(d), rep_cols)",
                  "long <- d[rep(seq_len(nrow(d)), each = length(rep_cols)), keep, drop = FALSE]",
                  f"long[[{r_string(step.index_name)}]] <- rep(occasions, times = nrow(d))",
                  f"long[[{r_string(step.value_name)}]] <- as.vector(t(as.matrix(d[rep_cols])))",
                  "d <- long",
                  "rownames(d) <- NULL"]
        if step.drop_missing:
            lines.append(f"d <- d[!is.na({col(step.value_name)}), , drop = FALSE]")
        return lines
    if isinstance(step, LongToWide):
        return [f"d <- reshape(d, idvar = {r_string(step.subject)}, timevar = {r_string(step.index)}, "
                f"v.names = {r_vec(step.values)}, direction = \"wide\", sep = {r_string(step.sep)})"]
    return [f"# reshape step {type(step).__name__} has no R translation; redo it by hand"]


def recipe_lines(r) -> list:
    """R lines that compute one computed variable (see :mod:`mixgui.data.computed`)."""
    x, new = col(r.source), col(r.name)

    def mean_in(g):
        return f"ave({x}, {col(g)}, FUN = function(v) mean(v, na.rm = TRUE))"

    if isinstance(r, Center):
        return [f"{new} <- {x} - mean({x}, na.rm = TRUE)"]
    if isinstance(r, Standardize):
        return [f"{new} <- ({x} - mean({x}, na.rm = TRUE)) / sd({x}, na.rm = TRUE)"]
    if isinstance(r, ClusterMean):
        return [f"{new} <- {mean_in(r.cluster)}", f"{new}[is.na({col(r.cluster)})] <- NA"]
    if isinstance(r, ClusterCenter):
        return [f"{new} <- {x} - {mean_in(r.cluster)}", f"{new}[is.na({col(r.cluster)})] <- NA"]
    if isinstance(r, Log):
        fn = {"e": "log", "10": "log10", "2": "log2"}.get(str(r.base), "log")
        return [f"{new} <- {fn}({x}{f' + {r_value(float(r.offset))}' if r.offset else ''})"]
    if isinstance(r, Recode):
        pairs = ", ".join(f"{r_string(k)} = {'NA' if v in (None, '') else r_string(v)}" for k, v in r.mapping.items())
        return [f"recode_map <- c({pairs})", f"old <- as.character({x})",
                f"{new} <- unname(ifelse(old %in% names(recode_map), recode_map[old], old))"]
    if isinstance(r, Dichotomize):
        cut = f"median({x}, na.rm = TRUE)" if isinstance(r.cutoff, str) else r_value(float(r.cutoff))
        lines = [f"cut_at <- {cut}"]
        if r.low is None and r.high is None:
            return lines + [f"{new} <- as.numeric({x} >= cut_at)"]
        low = r_string(r.low) if r.low is not None else 'paste("<", format(cut_at, digits = 6))'
        high = r_string(r.high) if r.high is not None else 'paste("\u2265", format(cut_at, digits = 6))'
        return lines + [f"{new} <- ifelse({x} >= cut_at, {high}, {low})"]
    return [f"# computed variable {r.name} ({r.describe()}) has no R translation; compute it by hand"]


# -- model -----------------------------------------------------------------------------------

def _nlme_random(formula) -> str | None:
    rs = formula.random
    if len(rs) != 1:
        return None
    r = rs[0]
    lhs = r.lhs_text()
    nested = len(r.groups) > 1 and all(r.groups[i] == r.groups[-1][: i + 1] for i in range(len(r.groups)))
    if len(r.groups) == 1:
        g = quote(":".join(r.groups[0])) if len(r.groups[0]) == 1 else None
        if g is None:
            return None
        if not r.correlated and r.terms:
            return f"list({g} = pdDiag(~ {lhs}))"
        return f"~ {lhs} | {g}"
    if nested and r.correlated:
        return f"~ {lhs} | " + "/".join(quote(gr[-1]) for gr in r.groups)
    return None


def _nlme_structure(structure: str, subject: str, n_pos: str) -> tuple:
    s, form_t = quote(subject), f"~ .pos | {quote(subject)}"
    corr = {"CS": f"corCompSymm(form = ~ 1 | {s})", "CSH": f"corCompSymm(form = ~ 1 | {s})",
            "AR1": f"corAR1(form = {form_t})", "ARH1": f"corAR1(form = {form_t})",
            "TOEP": f"corARMA(form = {form_t}, p = {n_pos} - 1)", "UN": f"corSymm(form = {form_t})"}.get(structure)
    het = structure in ("DIAG", "CSH", "ARH1", "UN")
    weights = "varIdent(form = ~ 1 | .posf)" if het else None
    return corr, weights


def _fixed_lines(kind: str, dfm: str) -> list:
    if kind == "lm":
        return ["s <- summary(m)", "print(s)", "print(anova(m))",
                "cf <- coef(s)",
                "fixed <- data.frame(term = rownames(cf), estimate = cf[, 1], std_error = cf[, 2], "
                "df = m$df.residual, t_value = cf[, 3], p_value = cf[, 4], row.names = NULL)"]
    if kind == "lmer":
        if dfm in LMER_DDF:
            ddf = r_string(LMER_DDF[dfm])
            return [f"s <- summary(m, ddf = {ddf})", "print(s)", f"print(anova(m, type = 3, ddf = {ddf}))",
                    "cf <- coef(s)",
                    "fixed <- data.frame(term = rownames(cf), estimate = cf[, 1], std_error = cf[, 2], "
                    "df = cf[, 3], t_value = cf[, 4], p_value = cf[, 5], row.names = NULL)"]
        df = "nobs(m) - length(fixef(m))" if dfm == "residual" else "Inf"
        return ['s <- summary(m, ddf = "lme4")', "print(s)", "cf <- coef(s)",
                f"df_fixed <- {df}  # {'residual df: n minus the number of coefficients' if dfm == 'residual' else 'z tests'}",
                "fixed <- data.frame(term = rownames(cf), estimate = cf[, 1], std_error = cf[, 2], df = df_fixed, "
                "t_value = cf[, 3], p_value = 2 * pt(-abs(cf[, 3]), df_fixed), row.names = NULL)"]
    note = ("# nlme tests coefficients on its own df (gls: n - p; lme: containment); MixGUI's df follow "
            f"{dfm}, so df and p-values may differ while estimates and SEs agree")
    df = "tt[, \"DF\"]" if kind == "lme" else "m$dims$N - m$dims$p"
    return ["s <- summary(m)", "print(s)", 'print(anova(m, type = "marginal"))', note,
            "tt <- s$tTable",
            f"fixed <- data.frame(term = rownames(tt), estimate = tt[, \"Value\"], std_error = tt[, \"Std.Error\"], "
            f"df = {df}, t_value = tt[, \"t-value\"], p_value = tt[, \"p-value\"], row.names = NULL)"]


def _emmeans_lines(spec, kind: str, levels: dict) -> list:
    dfm = spec.df_method
    if kind == "lm":
        arg = ""
    elif kind == "lmer":
        arg = f", lmer.df = {r_string(EMM_LMER_DF.get(dfm, 'satterthwaite'))}"
    else:
        arg = f", mode = {r_string(EMM_NLME_MODE.get(dfm, 'satterthwaite'))}"
    lines = []
    for i, req in enumerate(spec.emmeans, 1):
        rhs = " * ".join(quote(s) for s in req.specs) + (" | " + " * ".join(quote(b) for b in req.by) if req.by else "")
        e = f"emm{i}"
        lines.append(f"{e} <- emmeans(m, ~ {rhs}{arg})")
        if kind == "lmer" and dfm == "residual":
            lines.append(f"{e} <- update({e}, df = nobs(m) - length(fixef(m)))  # residual df, as MixGUI")
        lines.append(f"print({e})")
        for c in req.contrasts:
            adj = r_string(c.adjust)
            if c.method == "custom":
                name = c.name or "custom"
                lines.append(f"print(contrast({e}, method = list({r_string(name)} = {r_vec(list(c.weights))}), adjust = {adj}))")
            elif c.method == "trt.vs.ctrl" and c.ref is not None and len(req.specs) == 1:
                lines.append(f"print(contrast({e}, method = \"trt.vs.ctrl\", ref = match({r_string(c.ref)}, "
                             f"levels({e})[[{r_string(req.specs[0])}]]), adjust = {adj}))")
            else:
                lines.append(f"print(contrast({e}, method = {r_string(c.method)}, adjust = {adj}))")
    return lines


def _glmm_lines(spec, formula) -> list:
    """glmer (binomial, Poisson) or glmmTMB (NB2) with the same call, and the tables MixGUI shows."""
    y = quote(formula.response)
    ftext = formula.text()
    out = []
    if spec.family == "binomial" and spec.trials:
        ftext = ftext.replace(f"{y} ~", f"cbind({y}, {quote(spec.trials)} - {y}) ~", 1)
    elif spec.family == "binomial":
        out.append(f"if (!is.numeric({col(formula.response)})) {col(formula.response)} <- "
                   f"factor({col(formula.response)})  # the second level is the success")
    if spec.family == "negative_binomial":
        out += [f"m <- glmmTMB({ftext}, data = d, family = nbinom2)",
                "s <- summary(m)$coefficients$cond", "print(sigma(m))  # theta, the NB2 dispersion"]
    else:
        fam = f'{spec.family}(link = "{spec.link_name}")'
        nagq = f", nAGQ = {spec.nagq}" if spec.nagq != 1 else ""
        out += [f"m <- glmer({ftext}, data = d, family = {fam}{nagq})", "s <- coef(summary(m))"]
    out += ["fixed <- data.frame(estimate = s[, 1], std_error = s[, 2], z_value = s[, 3], p_value = s[, 4])",
            "fixed$ci_lower <- fixed$estimate - qnorm(0.975) * fixed$std_error",
            "fixed$ci_upper <- fixed$estimate + qnorm(0.975) * fixed$std_error"]
    if spec.link_name in ("log", "logit"):
        out.append("fixed[c(\"exp_estimate\", \"exp_lower\", \"exp_upper\")] <- "
                   "exp(fixed[c(\"estimate\", \"ci_lower\", \"ci_upper\")])")
    out += ["print(fixed, digits = 6)", "print(VarCorr(m))", "print(logLik(m))",
            'print(drop1(m, test = "Chisq"))  # likelihood-ratio tests of the fixed terms']
    for req in spec.emmeans:
        out.append(f"print(emmeans(m, ~ {' + '.join(quote(v) for v in req.specs)}"
                   + (f" | {' + '.join(quote(v) for v in req.by)}" if req.by else "")
                   + (', type = "response"' if req.type == "response" else "") + "))")
    return out


def r_script(result_or_spec, data_path=None, *, import_options=None, steps=(), recipes=(),
             factor_levels: dict | None = None) -> str:
    """The R script for a fitted result (or a bare spec).

    Parameters
    ----------
    result_or_spec : FitResult or AnalysisSpec
        A result gives the exact factor levels MixGUI used.
    data_path : str or Path, optional
        The data file to read (absolute is best); default the spec's ``data.path``.
    import_options : ImportOptions, optional
        Title rows, missing codes and CSV overrides used when the file was read.
    steps : sequence
        Reshape steps (:class:`WideToLong`, :class:`LongToWide`) applied after reading.
    recipes : sequence
        Computed variables (:mod:`mixgui.data.computed`) applied after reshaping.
    factor_levels : dict, optional
        Factor -> levels, reference first; default taken from the result's design.
    """
    spec = getattr(result_or_spec, "spec", result_or_spec)
    design = getattr(result_or_spec, "design", None)
    if factor_levels is None:
        factor_levels = dict(getattr(design, "factor_levels", {}) or {})
    formula = spec.parsed
    rep = spec.repeated
    kind = ("lmer" if rep is None else "lme") if formula.random else ("gls" if rep is not None else "lm")
    if spec.family != "gaussian":
        kind = "glmm"
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = [f"# R script made by MixGUI {__version__} on {when}",
           f"# Analysis: {spec.title or spec.formula}",
           "# It reads the same data file, codes factors the same way and fits the same model;",
           "# estimates agree with MixGUI to numerical precision.", ""]
    libs = {"lm": [], "lmer": ["lme4", "lmerTest"], "gls": ["nlme"], "lme": ["nlme"],
            "glmm": ["glmmTMB"] if spec.family == "negative_binomial" else ["lme4"]}[kind]
    if spec.emmeans:
        libs.append("emmeans")
    if libs:
        out.append("suppressPackageStartupMessages({ " + "; ".join(f"library({p})" for p in libs) + " })")
    out += ["", "## Data"]
    out += read_lines(data_path or spec.data.path, spec.data.sheet, import_options)
    for step in steps:
        out += reshape_lines(step)
    if recipes:
        out.append("## Computed variables")
        for r in recipes:
            out += recipe_lines(r)
    used = formula.variables() + ([rep.subject, rep.index] if rep else [])
    out += ["", "## Factors (levels in MixGUI's order, the reference level first)"]
    grouping = set(formula.grouping_variables()) | ({rep.subject} if rep else set())
    declared = list(dict.fromkeys(list(spec.factors) + list(spec.reference_levels) + sorted(grouping)))
    for v in list(dict.fromkeys(list(factor_levels) + declared)):
        if v not in used:
            continue
        if v in factor_levels:
            line = f"{col(v)} <- factor({col(v)}, levels = {r_vec(factor_levels[v])})"
            ref = spec.reference_levels.get(v)
            if ref is not None:
                line = f"{col(v)} <- relevel(factor({col(v)}, levels = {r_vec(factor_levels[v])}), ref = {r_string(ref)})"
        elif v in spec.reference_levels:
            line = f"{col(v)} <- relevel(factor({col(v)}), ref = {r_string(spec.reference_levels[v])})"
        else:
            line = f"{col(v)} <- factor({col(v)})"
        out.append(line)
    out += ["", "## Model"]
    ftext = formula.text()
    reml = "TRUE" if spec.method == "REML" else "FALSE"
    if kind == "glmm":
        out += _glmm_lines(spec, formula)
        return "\n".join(out) + "\n"
    if kind == "lm":
        out.append(f"m <- lm({ftext}, data = d)")
    elif kind == "lmer":
        out.append(f"m <- lmer({ftext}, data = d, REML = {reml})")
    else:
        out += [f"d <- d[complete.cases(d[{r_vec(list(dict.fromkeys(used)))}]), , drop = FALSE]",
                "# occasions are the sorted distinct values of the index: a missed visit is a gap, not a shift",
                f"idx_values <- sort(unique({col(rep.index)}))",
                f"d$.pos <- match({col(rep.index)}, idx_values)",
                "d$.posf <- factor(d$.pos)"]
        corr, weights = _nlme_structure(rep.structure, rep.subject, "length(idx_values)")
        fixed = f"{quote(formula.response)} ~ {formula.fixed_text()}"
        args = [fixed, "data = d", f'method = "{spec.method}"']
        if corr:
            args.append(f"correlation = {corr}")
        if weights:
            args.append(f"weights = {weights}")
        if kind == "gls":
            out.append("m <- gls(" + ", ".join(args) + ")")
        else:
            random = _nlme_random(formula)
            if random is None:
                out += ["# nlme::lme cannot fit these crossed random terms together with a residual structure",
                        'stop("this model has no nlme equivalent; fit it in SAS PROC MIXED or glmmTMB")']
            else:
                args.insert(2, f"random = {random}")
                out.append("m <- lme(" + ", ".join(args) + ", control = lmeControl(msMaxIter = 500))")
    out += _fixed_lines(kind, spec.df_method)
    out += ["fixed$ci_lower <- fixed$estimate - qt(0.975, fixed$df) * fixed$std_error",
            "fixed$ci_upper <- fixed$estimate + qt(0.975, fixed$df) * fixed$std_error",
            "print(fixed, digits = 6)"]
    if kind == "lmer":
        out.append("print(VarCorr(m), comp = c(\"Variance\", \"Std.Dev.\"))")
    if spec.emmeans:
        out += ["", "## Marginal means and contrasts"] + _emmeans_lines(spec, kind, factor_levels)
    return "\n".join(out) + "\n"
