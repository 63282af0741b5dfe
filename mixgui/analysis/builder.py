"""The model builder's state without Qt: a :class:`ModelDraft`, its edits, and its round trips.

The window's boxes show a draft; every edit is a pure function ``draft -> new draft`` (so the
undo stack only stores snapshots). A draft knows more than the formula: which box a variable sits
in (a numeric column in *Factors* is categorical), options, and a repeated-measures part that may
still be incomplete. :func:`draft_to_formula` / :func:`formula_to_draft` and :func:`draft_to_spec` /
:func:`spec_to_draft` convert both ways; :func:`model_notes` gives plain-language advice. The draft also
owns the model options the builder shows (family, link, tests: see :mod:`mixgui.analysis.builder_options`),
so a draft round-trips through a spec without a ``base`` to fill them in.

Defaults are a random intercept only: nothing here adds random slopes on its own.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from itertools import combinations

from mixgui.analysis import options as O
from mixgui.analysis.builder_notes import FEW_GROUPS, Note, model_notes  # noqa: F401 (re-exported)
from mixgui.analysis.builder_options import options_from_spec, options_to_spec, set_options  # noqa: F401
from mixgui.analysis.formula import Formula, RandomTerm, parse_formula, quote, term_label
from mixgui.analysis.spec import AnalysisSpec, Contrast, EmmeansRequest, Repeated, pooling_columns
from mixgui.errors import SpecError

CATEGORICAL = O.CATEGORICAL_LEVELS

# Labels and help of every option, in the user's words (from options.py); the panels are built from these.
LABELS = {key: {c.value: c.label for c in choices} for key, choices in (
    ("method", O.METHODS), ("df_method", O.DF_METHODS), ("structure", O.STRUCTURES), ("contrast", O.CONTRASTS),
    ("adjust", O.ADJUSTMENTS), ("family", O.FAMILIES))}
HELP = {
    "outcome": "The measurement to explain (one numeric column), e.g. a score or blood pressure.",
    "factors": "Categorical predictors: each level is compared with the reference level. "
               "A numeric code dropped here (visit 1, 2, 3) is treated as categories.",
    "covariates": "Numeric predictors whose size matters (age, time, dose); each gets one slope.",
    "terms": "The fixed effects of the model. Select two or more and press Interaction when one "
             "effect may depend on the other.",
    "interaction": "Add the interaction of the selected terms: the effect of one depends on the level of the other.",
    "full_factorial": "Add every interaction among the factors (covariates stay main effects).",
    "intercept": "Keep the overall intercept (almost always wanted).",
    "random": "One box per grouping (clinic, patient): observations of a group share a random deviation. "
              "Drop a column here to add a grouping; separate boxes are crossed groupings.",
    "group_intercept": "Each group has its own baseline (a random intercept).",
    "slopes": "Each group has its own effect of the checked term (a random slope). Add slopes only "
              "with enough groups and several observations per group.",
    "correlated": "Uncorrelated (||): the random intercept and slopes vary independently; "
                  "use it when the correlated model does not converge.",
    "nesting": "Drop a column on a grouping to nest it: patients within clinics (clinic / patient). "
               "Press Delete on a level to remove it.",
    "subject": "The unit measured repeatedly (patient): residuals of one subject may correlate.",
    "index": "The time or visit column that orders a subject's measurements; a missing visit is a gap.",
    "time": "A numeric time (days, hours): spatial structures use the distance between two measurements' times, "
            "so unequally spaced visits are handled as they were made.",
    "repeated_group": "Optional: a factor (e.g. treatment arm) whose levels each get their own covariance "
                      "parameters (SAS GROUP=).",
    "bands": "Banded Toeplitz TOEP(k): correlations at lags 1 to k-1, zero beyond. 'All' is the full Toeplitz.",
    "structure": "How the residuals of one subject's measurements are allowed to vary and correlate.",
    "method": "REML: less biased variances, use it to report a model. "
              "ML: use it to compare models with different fixed effects.",
    "df_method": "How the degrees of freedom of the t and F tests are found. Satterthwaite suits most "
                 "models; Kenward-Roger is more accurate with few groups.",
    "reference": "The level every other level of the factor is compared with (e.g. placebo). "
                 "By default the first level in sorted order.",
    "emmeans": "Model-estimated means for each level of a factor, averaged over the other predictors.",
    "contrast": "Which differences between the means to test.",
    "adjust": "Correction of p-values for testing several differences at once.",
    "weights": "One weight per level; the weights of a contrast sum to zero, e.g. −1, 0.5, 0.5.",
    "random_effect_tests": "Test each random effect with a likelihood-ratio test (the model is refitted "
                           "without it by ML); the p-value accounts for the variance being ≥ 0.",
    "effect_sizes": "Cohen's local f² of each fixed term (the model refitted without it), the share of the "
                    "variance that is fixed, random and residual, and how much of each variance the predictors "
                    "explain against the model with only an intercept.",
    "bootstrap": "Parametric-bootstrap p-values for the random-effect tests: the model without the term is "
                 "simulated this many times and refitted (exact where the chi-square mixture is only "
                 "asymptotic, e.g. with few groups). 0 = off.",
    "compare_structures": "Fit every residual covariance structure by ML to the same rows and compare AIC and "
                          "BIC (smaller is better), to choose the structure; then fit the final model by REML "
                          "with it.",
    "pooling": "Set the grouping beside the same model with the grouping as a fixed factor: no pooling "
               "(each group on its own) against partial pooling (the mixed model's estimates).",
    "formula": "The model in lme4 syntax, e.g. score ~ time * treatment + (1 | clinic/patient). "
               "Edit it directly: the boxes follow.",
}
STRUCTURE_HELP = {c.value: c.help for c in O.STRUCTURES}
CONTRAST_HELP = {c.value: c.help for c in O.CONTRASTS}


@dataclass(frozen=True)
class Grouping:
    """One random-effects box: ``factors`` is the nesting chain, outermost first (``("clinic", "patient")``
    is ``clinic / patient``); ``slopes`` are terms; ``correlated=False`` writes ``||``; ``combined`` writes
    ``(1 | a:b)``, one grouping by the combination of the factors without ``a`` on its own.
    """

    factors: tuple
    intercept: bool = True
    slopes: tuple = ()
    correlated: bool = True
    combined: bool = False

    @property
    def label(self) -> str:
        return (":" if self.combined else " / ").join(self.factors)

    def random_term(self) -> RandomTerm:
        groups = (self.factors,) if self.combined else tuple(self.factors[:i + 1] for i in range(len(self.factors)))
        return RandomTerm(self.intercept, tuple(sorted(self.slopes, key=len)), groups, self.correlated)

    def levels(self) -> list:
        """Each grouping level as a column tuple: ``[("batch",), ("batch", "cask")]``."""
        return [self.factors] if self.combined else [self.factors[:i + 1] for i in range(len(self.factors))]


@dataclass(frozen=True)
class ModelDraft:
    """What the builder's boxes hold (immutable; edits return a new draft)."""

    outcome: str = ""
    factors: tuple = ()
    covariates: tuple = ()
    terms: tuple = ()
    intercept: bool = True
    groupings: tuple = ()
    repeated: Repeated | None = None
    method: str = AnalysisSpec.method
    df_method: str = AnalysisSpec.df_method
    reference_levels: dict = field(default_factory=dict)
    emmeans: tuple = ()
    random_effect_tests: bool = AnalysisSpec.random_effect_tests
    effect_sizes: bool = AnalysisSpec.effect_sizes
    compare_structures: bool = AnalysisSpec.compare_structures
    bootstrap: int = AnalysisSpec.bootstrap
    pooling: str | None = AnalysisSpec.pooling
    declared_factors: tuple = ()  # categorical columns of the file used outside the roles (e.g. a subject)
    offsets: tuple = ()  # the formula's offsets: ("log", "days") is offset(log(days))
    # the analysis file's options under its names (edited with builder_options.set_options)
    family: str = AnalysisSpec.family
    link: str | None = AnalysisSpec.link
    trials: str | None = AnalysisSpec.trials
    nagq: int = AnalysisSpec.nagq
    kr_information: str | None = AnalysisSpec.kr_information
    kr_variant: str | None = AnalysisSpec.kr_variant
    vcov: str = AnalysisSpec.vcov
    weights: str | None = AnalysisSpec.weights
    anova_types: tuple = AnalysisSpec.anova_types
    predictions: bool = AnalysisSpec.predictions

    def with_(self, **changes) -> ModelDraft:
        return replace(self, **changes)

    def predictors(self) -> tuple:
        return self.factors + self.covariates


# -- edits ----------------------------------------------------------------------------------

def _norm_terms(terms) -> tuple:
    """Drop repeats, then R's order: by interaction order, then first appearance (stable)."""
    return tuple(sorted(dict.fromkeys(tuple(t) for t in terms), key=len))


def _prune(d: ModelDraft) -> ModelDraft:
    """Remove everything that mentions a variable no longer in a predictor box."""
    keep = set(d.predictors())
    ok = lambda t: set(t) <= keep  # noqa: E731
    groupings = tuple(replace(g, slopes=tuple(s for s in g.slopes if ok(s))) for g in d.groupings)
    groupings = tuple(g if g.intercept or g.slopes else replace(g, intercept=True) for g in groupings)
    return replace(d, terms=_norm_terms(t for t in d.terms if ok(t)), groupings=groupings,
                   reference_levels={k: v for k, v in d.reference_levels.items() if k in d.factors},
                   emmeans=tuple(e for e in d.emmeans if set(e.specs + e.by) <= set(d.factors)))


def set_outcome(d: ModelDraft, column: str) -> ModelDraft:
    """Make ``column`` the outcome (taking it out of the predictor boxes)."""
    d = remove_variables(d, [column]) if column in d.predictors() else d
    return replace(d, outcome=column)


def add_to_role(d: ModelDraft, role: str, columns) -> ModelDraft:
    """Put ``columns`` in ``role`` ("outcome", "factors", "covariates"); a predictor gets its main effect."""
    if role == "outcome":
        return set_outcome(d, list(columns)[0]) if columns else d
    other = "covariates" if role == "factors" else "factors"
    if d.outcome in columns:  # dragged from the Outcome box: it stops being the outcome
        d = replace(d, outcome="")
    new = list(dict.fromkeys(columns))
    mine = tuple(dict.fromkeys(getattr(d, role) + tuple(new)))
    theirs = tuple(c for c in getattr(d, other) if c not in new)  # moving between boxes keeps the terms
    added = [c for c in new if c not in d.predictors()]
    declared = tuple(c for c in d.declared_factors if c not in new)
    return _prune(replace(d, **{role: mine, other: theirs}, declared_factors=declared,
                          terms=_norm_terms(d.terms + tuple((c,) for c in added))))


def remove_variables(d: ModelDraft, columns) -> ModelDraft:
    """Take ``columns`` out of every box (with the terms, slopes and means that use them)."""
    gone = set(columns)
    return _prune(replace(d, outcome="" if d.outcome in gone else d.outcome,
                          factors=tuple(c for c in d.factors if c not in gone),
                          covariates=tuple(c for c in d.covariates if c not in gone)))


def add_interaction(d: ModelDraft, terms) -> ModelDraft:
    """Add the interaction of the variables of ``terms`` (two or more distinct variables)."""
    order = {v: i for i, v in enumerate(v for t in d.terms for v in t)}
    variables = sorted(dict.fromkeys(v for t in terms for v in t), key=lambda v: order.get(v, len(order)))
    if len(variables) < 2:
        return d
    return replace(d, terms=_norm_terms(d.terms + (tuple(variables),)))


def full_factorial(d: ModelDraft) -> ModelDraft:
    """Add every interaction among the factors (covariates stay main effects)."""
    f = d.factors
    new = [c for k in range(2, len(f) + 1) for c in combinations(f, k)]
    return replace(d, terms=_norm_terms(d.terms + tuple((v,) for v in f) + tuple(new)))


def remove_terms(d: ModelDraft, terms) -> ModelDraft:
    """Remove fixed terms, and random slopes of the same terms (a slope varies around a fixed effect)."""
    gone = {tuple(t) for t in terms}
    groupings = tuple(replace(g, slopes=tuple(s for s in g.slopes if s not in gone)) for g in d.groupings)
    groupings = tuple(g if g.intercept or g.slopes else replace(g, intercept=True) for g in groupings)
    return replace(d, terms=tuple(t for t in d.terms if t not in gone), groupings=groupings)


def add_grouping(d: ModelDraft, column: str) -> ModelDraft:
    """A new grouping box with a random intercept only (never more, unasked)."""
    if any(g.factors == (column,) for g in d.groupings) or column == d.outcome:
        return d
    return replace(d, groupings=d.groupings + (Grouping((column,)),))


def nest_in_grouping(d: ModelDraft, index: int, columns) -> ModelDraft:
    """Nest ``columns`` inside grouping ``index`` (``clinic`` + patient -> ``clinic / patient``).

    A column that is a grouping of its own is moved (its box disappears).
    """
    target = d.groupings[index]
    new = [c for c in columns if c not in target.factors and c != d.outcome]
    if not new:
        return d
    kept = [g for i, g in enumerate(d.groupings) if i == index or g.factors != tuple(new)]
    groupings = tuple(replace(g, factors=g.factors + tuple(new)) if g is target else g for g in kept)
    return replace(d, groupings=groupings)


def _at(items: tuple, index: int, new=None) -> tuple:
    """``items`` with element ``index`` replaced by ``new`` (removed when None)."""
    return items[:index] + (() if new is None else (new,)) + items[index + 1:]


def remove_grouping(d: ModelDraft, index: int) -> ModelDraft:
    return replace(d, groupings=_at(d.groupings, index))


def remove_grouping_level(d: ModelDraft, index: int, column: str) -> ModelDraft:
    """Remove one level of a nesting chain (the whole box when it was the only one)."""
    g = d.groupings[index]
    factors = tuple(c for c in g.factors if c != column)
    if not factors:
        return remove_grouping(d, index)
    return set_grouping(d, index, factors=factors, combined=g.combined and len(factors) > 1)


def set_grouping(d: ModelDraft, index: int, **changes) -> ModelDraft:
    """Change intercept / slopes / correlated / factors of a grouping.

    A grouping left with neither intercept nor slope is refused (returns ``d`` unchanged).
    """
    if "slopes" in changes:
        changes["slopes"] = _norm_terms(changes["slopes"])
    g = replace(d.groupings[index], **changes)
    if not g.intercept and not g.slopes:
        return d
    return replace(d, groupings=_at(d.groupings, index, g))


def set_repeated(d: ModelDraft, **changes) -> ModelDraft:
    """Set subject / index / structure of the repeated part (``None`` values clear it)."""
    # group's "none" is None (as in the analysis file), the slots' is ""
    rep = replace(d.repeated or Repeated(), **{k: v or (None if k == "group" else "") for k, v in changes.items()})
    rep = replace(rep, structure=rep.structure or Repeated.structure)
    if not rep.subject and not rep.index and rep.structure == Repeated.structure:
        return replace(d, repeated=None)
    return replace(d, repeated=rep)


def set_reference_level(d: ModelDraft, column: str, level: str | None) -> ModelDraft:
    refs = {k: v for k, v in d.reference_levels.items() if k != column}
    if level is not None:
        refs[column] = str(level)
    return replace(d, reference_levels=refs)


def add_emmeans(d: ModelDraft, specs, by=()) -> ModelDraft:
    """Marginal means over ``specs`` (a factor or several) within each level of ``by``, compared pairwise (Tukey)."""
    specs = (specs,) if isinstance(specs, str) else tuple(dict.fromkeys(specs))
    by = tuple(v for v in dict.fromkeys((by,) if isinstance(by, str) else by) if v not in specs)
    new = EmmeansRequest(specs, by, (Contrast("pairwise", "tukey"),))
    return d if not specs or any((e.specs, e.by) == (specs, by) for e in d.emmeans) else replace(d, emmeans=d.emmeans + (new,))


def set_emmeans_type(d: ModelDraft, index: int, kind: str) -> ModelDraft:
    """Means ``index`` on the ``"response"`` scale (probabilities, rates) or the ``"link"`` scale."""
    if kind not in O.EMMEANS_TYPES:
        raise SpecError(f'marginal means type "{kind}" is not known; use "link" or "response"')
    return replace(d, emmeans=_at(d.emmeans, index, replace(d.emmeans[index], type=kind)))


def remove_emmeans(d: ModelDraft, index: int) -> ModelDraft:
    return replace(d, emmeans=_at(d.emmeans, index))


def set_emmeans_contrasts(d: ModelDraft, index: int, contrasts) -> ModelDraft:
    return replace(d, emmeans=_at(d.emmeans, index, replace(d.emmeans[index], contrasts=tuple(contrasts))))


# -- formula ---------------------------------------------------------------------------------

def draft_formula(d: ModelDraft) -> Formula:
    """The draft as a parsed :class:`Formula`."""
    return Formula(d.outcome, d.intercept, _norm_terms(d.terms), tuple(g.random_term() for g in d.groupings),
                   tuple(d.offsets))


def _star_text(terms: tuple, intercept: bool) -> str:
    """The fixed part with ``a * b`` where every sub-term of an interaction is present."""
    have = set(terms)
    groups, owner = [], {}
    for t in sorted(terms, key=len, reverse=True):
        if len(t) < 2 or t in owner:
            continue
        subs = [c for k in range(1, len(t) + 1) for c in combinations(t, k)]
        if all(s in have for s in subs):
            groups.append(t)
            for s in subs:
                owner.setdefault(s, t)
    parts, done = [], set()
    for t in terms:
        g = owner.get(t)
        if g is None:
            parts.append(term_label(t))
        elif g not in done:
            parts.append(" * ".join(quote(v) for v in g))
            done.add(g)
    if not intercept:
        parts.insert(0, "0")
    return " + ".join(parts) if parts else ("1" if intercept else "0")


def draft_to_formula(d: ModelDraft) -> str:
    """The lme4 formula of the draft ("" without an outcome); ``a * b`` where it says the same."""
    if not d.outcome:
        return ""
    f = draft_formula(d)
    rhs = _star_text(f.terms, f.intercept)
    for fn, v in f.offsets:
        rhs += f" + offset({fn}({quote(v)}))" if fn else f" + offset({quote(v)})"
    if f.random:
        rhs += " + " + " + ".join(r.text() for r in f.random)
    text = f"{quote(f.response)} ~ {rhs}"
    try:  # the short form must mean exactly the same model (terms in the same order), else the long one
        if parse_formula(text) == f:
            return text
    except SpecError:
        pass
    return f.text()


def _groupings_from(rt: RandomTerm) -> list:
    common = dict(intercept=rt.intercept, slopes=rt.terms, correlated=rt.correlated)
    g = rt.groups
    if all(len(x) == i + 1 and x == g[-1][:i + 1] for i, x in enumerate(g)):
        return [Grouping(g[-1], **common)]
    return [Grouping(x, combined=len(x) > 1, **common) for x in g]


def formula_to_draft(formula_text: str, dataset_columns=None, levels=None, factors=(),
                     previous: ModelDraft | None = None) -> ModelDraft:
    """Read a formula into a draft.

    Parameters
    ----------
    formula_text : str
        lme4 syntax.
    dataset_columns : list of str, optional
        When given, every variable must be one of them.
    levels : dict, optional
        Column -> measurement level; categorical levels put a variable in *Factors*.
    factors : iterable of str
        Columns declared categorical (the spec's ``factors``).
    previous : ModelDraft, optional
        Its options and box assignments are kept.

    Raises
    ------
    SpecError
        The parser's message, or a column that is not in the data.
    """
    f = parse_formula(formula_text)
    if dataset_columns is not None:
        cols = list(dataset_columns)
        for v in f.variables():
            if v not in cols:
                close = difflib.get_close_matches(v, cols, n=1, cutoff=0.5)
                hint = f'; did you mean "{close[0]}"?' if close else ""
                raise SpecError(f'column "{v}" is not in the data{hint}')
    prev = previous or ModelDraft()
    levels, declared = levels or {}, list(dict.fromkeys(factors))
    used = list(dict.fromkeys(v for t in f.terms + tuple(s for r in f.random for s in r.terms) for v in t))
    roles = {"factors": [], "covariates": []}
    for v in used:
        if v in prev.factors or (v not in prev.covariates and (v in declared or levels.get(v) in CATEGORICAL)):
            roles["factors"].append(v)
        else:
            roles["covariates"].append(v)
    # Box order: as the user left it (previous draft), else as the file lists its factors, else formula order.
    order = list(prev.factors) + list(prev.covariates) + declared
    for role in roles.values():
        role.sort(key=lambda v: (order.index(v) if v in order else len(order), used.index(v)))
    d = replace(prev, outcome=f.response, factors=tuple(roles["factors"]), covariates=tuple(roles["covariates"]),
                terms=f.terms, intercept=f.intercept,
                groupings=tuple(g for r in f.random for g in _groupings_from(r)), offsets=f.offsets,
                declared_factors=tuple(c for c in prev.declared_factors if c not in used))
    return _prune(d)


# -- spec ------------------------------------------------------------------------------------

def draft_to_spec(d: ModelDraft, base: AnalysisSpec | None = None) -> AnalysisSpec:
    """The analysis spec of the draft; ``base`` supplies what the builder does not edit (data, title).

    Every field the builder shows comes from the draft (``base``'s are replaced), so that
    ``spec_to_draft(draft_to_spec(d))`` gives ``d`` back.
    """
    rep = d.repeated if d.repeated and d.repeated.subject and d.repeated.index else None
    factors = tuple(c for c in dict.fromkeys(d.factors + d.declared_factors) if c not in d.covariates)
    formula = draft_to_formula(d)
    # Options the model no longer supports are dropped here, as the analysis file would refuse them:
    # a comparison of residual structures needs `repeated`, a bootstrap needs the tests, pooling
    # needs its grouping as a random intercept.
    base = base or AnalysisSpec()
    try:
        poolable = pooling_columns(parse_formula(formula)) if formula else []
    except SpecError:
        poolable = []
    return base.with_(
        formula=formula, method=d.method, df_method=d.df_method, factors=factors,
        reference_levels={k: v for k, v in d.reference_levels.items() if k in d.factors}, repeated=rep,
        random_effect_tests=d.random_effect_tests, emmeans=_emmeans_for(d),
        effect_sizes=d.effect_sizes, compare_structures=d.compare_structures and rep is not None,
        bootstrap=d.bootstrap if d.random_effect_tests else 0,
        bootstrap_seed=base.bootstrap_seed if d.random_effect_tests and d.bootstrap else None,
        pooling=d.pooling if d.pooling in poolable else None, **options_to_spec(d))


def _emmeans_for(d: ModelDraft) -> tuple:
    """The draft's marginal means; a linear model's are on its one scale (the draft keeps "response"
    for when a generalized family is chosen again)."""
    if d.family != "gaussian":
        return tuple(d.emmeans)
    return tuple(e if e.type == "link" else replace(e, type="link") for e in d.emmeans)


def spec_to_draft(spec: AnalysisSpec, dataset_columns=None, levels=None) -> ModelDraft:
    """The draft of a spec (the boxes of a saved analysis). Raises SpecError for a bad formula."""
    d = ModelDraft(method=spec.method, df_method=spec.df_method, reference_levels=dict(spec.reference_levels),
                   repeated=spec.repeated, emmeans=tuple(spec.emmeans), random_effect_tests=spec.random_effect_tests,
                   effect_sizes=spec.effect_sizes, compare_structures=spec.compare_structures,
                   bootstrap=spec.bootstrap, pooling=spec.pooling, **options_from_spec(spec))
    # A reference level or marginal means say the column is categorical even when the data are not at hand.
    hints = tuple(spec.factors) + tuple(spec.reference_levels) + tuple(v for e in spec.emmeans for v in e.specs + e.by)
    if spec.formula.strip():
        d = formula_to_draft(spec.formula, dataset_columns, levels, hints, previous=d)
    return replace(d, declared_factors=tuple(c for c in spec.factors if c not in d.predictors()))
