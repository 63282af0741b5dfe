"""Malformed analysis files, every option combination, older versions, and no lost work.

* Forty-odd analysis files with a wrong value in every field go through a real
  ``python -m mixgui fit`` process: each exits 2 with ONE line on standard error (no traceback,
  never the "internal error" exit 3), or fits (exit 0) with the warnings it should carry.
* Every option combination the spec allows (method x df_method x repeated structure x random
  effects x contrast method x adjustment) fits or is refused up front with the reason.
* Analysis files of every earlier version open (version 0: no format/version keys, ``"df"``,
  ``"data"`` as a plain path).
* Every file MixGUI writes goes through :mod:`mixgui.fileio` (a static check over the source).
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import (
    CONTRAST_METHODS,
    DF_METHODS,
    METHODS,
    AnalysisSpec,
    Contrast,
    EmmeansRequest,
    Repeated,
    load_spec,
)
from mixgui.data.dataset import Dataset

# The values the engine computes today (the analysis file knows more: options.py); each value an
# issue adds moves from refuse_unsupported's list into these, and this test then covers it.
from mixgui.engine.emmeans import ADJUSTMENTS as ENGINE_ADJUSTMENTS  # noqa: E402
from mixgui.engine.repeated import STRUCTURES as ENGINE_STRUCTURES  # noqa: E402
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run

ENGINE_DF_METHODS = tuple(DF_METHODS)  # between-within: repeated structures only (refused without one)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference" / "cli"
DATA = "orthodont_long.csv"
BASE = {"data": {"path": DATA}, "formula": "distance ~ agef * Sex + (1 | Subject)", "factors": ["agef"]}


def B(**changes) -> str:
    d = dict(BASE)
    d.update(changes)
    return json.dumps(d)


def W(emm) -> str:
    """The base analysis with these ``emmeans`` (written as raw JSON text, so NaN/Infinity can appear)."""
    return B()[:-1] + ', "emmeans": ' + emm + "}"


#: name -> (analysis file text, expected exit status, words of the stderr line (2) or of a warning (0))
CASES = {
    # formula
    "formula_a_number": (B(formula=3), 2, ["no formula"]),
    "formula_a_list": (B(formula=["distance ~ age"]), 2, ["no formula"]),
    "formula_unbalanced": (B(formula="distance ~ age + (1 | Subject"), 2, ['closing ")"']),
    "formula_no_tilde": (B(formula="distance age"), 2, ['no "~"']),
    "formula_function": (B(formula="log(distance) ~ age"), 2, ["log(...) cannot be used", "new column"]),
    "formula_empty_rhs": (B(formula="distance ~ "), 2, ["model terms after ~"]),
    "formula_empty_group": (B(formula="distance ~ age + (1 | )"), 2, ["grouping factor"]),
    "formula_unknown_column": (B(formula="distance ~ agee + (1 | Subject)"), 2, ['"agee" not in', 'did you mean "age"']),
    "formula_unicode_typo": (B(formula="distänce ~ age"), 2, ['did you mean "distance"']),
    "formula_text_outcome": (B(formula="Sex ~ age"), 2, ["not numeric"]),
    # factors
    "factors_a_dict": (B(factors={"age": 1}), 2, ['"factors" must be a list']),
    "factors_a_number": (B(factors=5), 2, ['"factors" must be a list']),
    "factors_nested_list": (B(factors=[["age"]]), 2, ['"factors" must name a column']),
    "factors_unknown_column": (B(formula="distance ~ age + (1 | Subject)", factors=["agee"]), 2,
                               ['factor "agee" not in', 'did you mean "age"']),
    "factors_include_outcome": (B(factors=["distance"]), 2, ["outcome", "must be numeric"]),
    "factors_one_string": (B(formula="distance ~ age + (1 | Subject)", factors="age"), 0, []),
    # reference levels
    "reference_not_a_level": (B(reference_levels={"Sex": "Other"}), 2, ['"Other" is not a level of Sex', "Female, Male"]),
    "reference_unknown_column": (B(reference_levels={"Sexx": "Male"}), 2, ['"Sexx" not in', 'did you mean "Sex"']),
    "reference_a_list": (B(reference_levels=["Sex", "Male"]), 2, ['"reference_levels" must map']),
    "reference_value_a_list": (B(reference_levels={"Sex": ["Male"]}), 2, ['reference level of "Sex" must be']),
    "reference_numeric_level": (B(formula="distance ~ age + (1 | Subject)", reference_levels={"age": 10}), 0, []),
    # repeated
    "repeated_missing_keys": (B(repeated={"structure": "AR1"}), 2, ['needs a "subject"']),
    "repeated_a_list": (B(repeated=["AR1", "Subject", "age"]), 2, ['"repeated" must be an object']),
    "repeated_a_string": (B(repeated="AR1"), 2, ['"repeated" must be an object']),
    "structure_lower_case": (B(formula="distance ~ agef * Sex", repeated={"structure": "ar1", "subject": "Subject",
                                                                         "index": "age"}), 0, []),
    "structure_unknown": (B(repeated={"structure": "AR2", "subject": "Subject", "index": "age"}), 2,
                          ['"AR2" is not known', "AR1"]),
    "structure_a_number": (B(repeated={"structure": 1, "subject": "Subject", "index": "age"}), 2, ["is not known"]),
    "repeated_subject_typo": (B(repeated={"structure": "CS", "subject": "Subj", "index": "age"}), 2,
                              ['did you mean "Subject"']),
    "repeated_subject_a_dict": (B(repeated={"structure": "CS", "subject": {"a": 1}, "index": "age"}), 2,
                                ["must name a column"]),
    # emmeans and contrasts
    "weights_strings": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": ["a", "b", "c", "d"]}]}]'),
                        2, ["weights must be a list of numbers"]),
    "weights_one_string": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": "1,-1,0,0"}]}]'), 2,
                           ["weights must be a list of numbers"]),
    "weights_NaN": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": [NaN, 1, 0, -1]}]}]'), 2,
                    ["weights must be a list of numbers"]),
    "weights_huge": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": [1e400, -1e400, 0, 0]}]}]'),
                     2, ["weights must be a list of numbers"]),
    "weights_wrong_length": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": [1, -1]}]}]'), 2,
                             ["2 weights", "4 levels"]),
    "weights_not_summing_to_0": (W('[{"specs": "agef", "contrasts": [{"method": "custom", "weights": [1, 1, 0, 0]}]}]'),
                                 2, ["sum to 0"]),
    "emmeans_unknown_column": (W('[{"specs": "agge"}]'), 2, ['"agge" is not a predictor']),
    "emmeans_column_not_in_model": (W('[{"specs": "occ"}]'), 2, ['"occ" is not a predictor']),
    "emmeans_by_unknown": (W('[{"specs": "agef", "by": "Sexx"}]'), 2, ['"Sexx" is not a predictor']),
    "emmeans_specs_a_dict": (W('[{"specs": {"a": 1}}]'), 2, ['"specs" must be a factor name']),
    "emmeans_a_number": (W("5"), 2, ['"emmeans" must be a list']),
    "emmeans_entry_a_number": (W("[5]"), 2, ['needs "specs"']),
    "emmeans_one_object": (W('{"specs": "agef", "contrasts": ["consec"]}'), 0, []),
    "contrasts_one_string": (W('[{"specs": "Sex", "contrasts": "pairwise"}]'), 0, []),
    "contrast_a_number": (W('[{"specs": "agef", "contrasts": [5]}]'), 2, ["each contrast must be"]),
    "contrast_unknown_method": (W('[{"specs": "agef", "contrasts": ["all"]}]'), 2, ['"all" is not known']),
    "contrast_unknown_adjust": (W('[{"specs": "agef", "contrasts": [{"method": "pairwise", "adjust": "scheffe"}]}]'),
                                2, ['"scheffe" is not known']),
    "control_not_a_level": (W('[{"specs": "agef", "contrasts": [{"method": "trt.vs.ctrl", "ref": "99"}]}]'), 2,
                            ['control level "99"', "8, 10, 12, 14"]),
    "emmeans_numeric_covariate": (B(formula="distance ~ age * Sex + (1 | Subject)", emmeans=[{"specs": "age"}]), 0, []),
    # data
    "data_a_folder": (B(data={"path": "folder.csv"}), 2, ["is a folder"]),
    "data_missing_file": (B(data={"path": "nothere.csv"}), 2, ["does not exist"]),
    "data_a_number": (B(data=5), 2, ["no data path"]),
    "data_a_list": (B(data=[DATA]), 2, ["no data path"]),
    "data_path_a_number": (B(data={"path": 5}), 2, ["data path must be text"]),
    "sheet_missing": (B(data={"path": "demo.xlsx", "sheet": "Nope"}), 2, ['no sheet "Nope"', "Visits"]),
    "sheet_a_list": (B(data={"path": "demo.xlsx", "sheet": ["Visits"]}), 2, ['"sheet" must be the name']),
    "sheet_named": (B(data={"path": "demo.xlsx", "sheet": "Visits"}), 0, []),
    # the file itself
    "json_with_bom": ("\ufeff" + B(), 0, []),
    "json_empty": ("", 2, ["not valid JSON"]),
    "json_truncated": (B()[:40], 2, ["not valid JSON"]),
    "json_top_level_array": ("[1, 2]", 2, ["must hold a JSON object"]),
    "json_deeply_nested": ("[" * 100_000 + "]" * 100_000, 2, ["analysis file"]),
    "method_NaN": (B()[:-1] + ', "method": NaN}', 2, ["method NaN is not known"]),
    "method_a_number": (B(method=1), 2, ["method 1 is not known"]),
    "method_lower_case": (B(method="ml"), 0, []),
    "df_method_a_list": (B(df_method=["kr"]), 2, ["is not known"]),
    "df_method_alias_kr": (B(df_method="KR"), 0, []),
    "version_huge": (B(version=10**30), 0, []),
    "version_newer_unknown_key": (B(version=3, smoothing=1), 0, ["newer MixGUI", "smoothing"]),
    "key_misspelt": (B(methd="ML"), 2, ['unknown key "methd"', 'did you mean "method"']),
    "family_misspelt": (B(family="gausian"), 2, ['did you mean "gaussian"']),
    "family_binomial_not_0_1": (B(family="binomial"), 2, ['"distance"']),
    "anova_types_on_a_glmm": (B(family="poisson", anova_types=[3]), 2, ['"anova_types"', "likelihood ratio",
                                                                      'remove "anova_types"']),
    "version_infinite": (B()[:-1] + ', "version": 1e400}', 2, ['"version" must be a whole number']),
    "version_a_string": (B(version="1"), 2, ['"version" must be a whole number']),
    "format_other": (B(format="other-app"), 2, ["not a MixGUI analysis file"]),
    "random_effect_tests_no": (B(random_effect_tests="no"), 2, ['"random_effect_tests" must be true or false']),
    "random_effect_tests_2": (B(random_effect_tests=2), 2, ['"random_effect_tests" must be true or false']),
    "title_a_dict": (B(title={"a": 1}), 2, ['"title" must be text']),
    # fits, with the right warnings
    "kenward_roger_with_ML": (B(method="ML", df_method="kenward-roger"), 0, ["need a REML fit", "Satterthwaite df"]),
    "missing_values_in_rows": (json.dumps({"data": {"path": "holes.csv"}, "formula": "distance ~ age + (1 | Subject)"}),
                               0, ["left out"]),
    "aliased_column": (json.dumps({"data": {"path": "holes.csv"}, "formula": "distance ~ age + age2 + (1 | Subject)"}),
                       0, ["age2", "linear combination"]),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("malformed")
    shutil.copy(REF / DATA, folder / DATA)
    (folder / "folder.csv").mkdir()
    frame = pd.read_csv(REF / DATA)
    holes = frame.copy()
    holes.loc[[3, 17, 40], "distance"] = float("nan")
    holes["age2"] = holes["age"] * 2 + 1
    holes.to_csv(folder / "holes.csv", index=False)
    with pd.ExcelWriter(folder / "demo.xlsx", engine="openpyxl") as xw:  # test data, not a MixGUI writer
        frame.to_excel(xw, sheet_name="Visits", index=False)
        frame.head(3).to_excel(xw, sheet_name="Notes", index=False)
    return folder


@pytest.fixture(scope="module")
def outcomes(workdir) -> dict:
    """Every case through a real ``python -m mixgui fit`` process, four at a time."""

    def one(name):
        text = CASES[name][0]
        path = workdir / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(path)], capture_output=True, text=True,
                           timeout=600, env={**os.environ, "HOME": str(workdir)})  # a crash file stays here
        return name, p

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, sorted(CASES)))


def test_there_are_at_least_thirty_malformed_cases():
    assert sum(1 for _, code, _ in CASES.values() if code == 2) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_analysis_exits_2_with_one_line_or_fits(outcomes, name):
    _, want, words = CASES[name]
    p = outcomes[name]
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == want, (p.returncode, p.stderr[-2000:])
    if want == 2:
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith("mixgui: ") and "internal error" not in lines[0]
        for w in words:
            assert w in lines[0], (w, lines[0])
        assert p.stdout == ""
    else:
        assert p.stderr == "", p.stderr  # nothing printed besides the results (no numpy warnings)
        result = json.loads(p.stdout)
        assert result["fixed_effects"]
        text = " ".join(result["warnings"])
        for w in words:
            assert w in text, (w, result["warnings"])


def test_a_numeric_reference_level_makes_the_column_a_factor(outcomes):
    """A reference level says "treatment coding against this level": the column is categorical (as in the R script)."""
    terms = [r["term"] for r in json.loads(outcomes["reference_numeric_level"].stdout)["fixed_effects"]]
    assert terms == ["(Intercept)", "age8", "age12", "age14"]


# -- every option combination: a result or an up-front refusal --------------------------------------
@pytest.fixture(scope="module")
def orthodont() -> pd.DataFrame:
    frame = pd.read_csv(REF / DATA)
    return frame[frame["Subject"].isin(sorted(frame["Subject"].unique())[::2])].reset_index(drop=True)  # 14 subjects


# every contrast method once (with Holm) and every adjustment once (with pairwise comparisons): the
# methods and the adjustments are independent pieces of code, and the full cross-product (45 families
# per fit, each with limits) made this test take a quarter of an hour without covering more code
ALL_CONTRASTS = tuple(dict.fromkeys(
    [Contrast(m, "holm", weights=(1.0, -1.0, 0.0, 0.0) if m == "custom" else None) for m in CONTRAST_METHODS]
    + [Contrast("pairwise", a) for a in ENGINE_ADJUSTMENTS]))


@pytest.mark.parametrize("method,df_method", list(itertools.product(METHODS, ENGINE_DF_METHODS)))
def test_every_option_combination_fits_or_is_refused_with_the_reason(orthodont, method, df_method):
    """method x df_method x repeated structure (none + 8) x random effects (with, without), each with
    every contrast method x adjustment (25 contrast families in one request) and random-effect tests."""
    outcomes = {}
    for structure, with_random in itertools.product((None,) + ENGINE_STRUCTURES + ("TOEP(2)",), (True, False)):
        formula = "distance ~ agef * Sex" + (" + (1 | Subject)" if with_random else "")
        spec = AnalysisSpec(formula=formula, method=method, df_method=df_method, factors=("agef",),
                            repeated=Repeated(structure, "Subject", "age") if structure else None,
                            random_effect_tests=True, anova_types=(1, 2, 3),
                            emmeans=(EmmeansRequest(("agef",), ("Sex",), ALL_CONTRASTS),))
        try:
            result = run(spec, Dataset(orthodont.copy(), name="orthodont"))
        except MixGUIError as e:
            msg = str(e)
            assert msg and "\n" not in msg, msg
            outcomes[(structure, with_random)] = f"refused: {msg}"
            continue
        d = result.data
        result.to_json()
        assert {r["term"] for r in d["fixed_effects"]} >= {"(Intercept)", "SexMale"}
        blocks = d["emmeans"][0]["contrasts"]
        assert [(b["method"], b["adjust"]) for b in blocks] == [(c.method, c.adjust) for c in ALL_CONTRASTS]
        for b in blocks:
            for row in b["rows"]:
                p = row["p_value"]
                assert p is None or p != p or 0 <= p <= 1, row
        if df_method == "kenward-roger" and method == "ML" and d["model"] != "lm":
            # as implemented: Kenward-Roger needs REML; the fit falls back to Satterthwaite and says so
            assert d["df_method"] == "satterthwaite"
            assert any("REML" in w for w in d["warnings"]), d["warnings"]
        outcomes[(structure, with_random)] = "fitted"
    # the refusals are the documented ones, never a surprise: a random intercept on top of an R-side
    # structure that already holds a subject-level covariance may be refused, nothing else
    for (structure, with_random), what in outcomes.items():
        if what != "fitted" and df_method == "between-within" and structure is None:
            assert "between-within df without a repeated structure" in what, what
        elif what != "fitted":
            assert with_random and structure in ("CS", "CSH", "UN", "TOEP", "TOEPH", "ANTE1"), (
                structure, with_random, what)


# -- analysis files of every earlier version --------------------------------------------------------
EARLIER_VERSIONS = {
    "version 0 (no format, no version, df, data as a string)": {
        "data": DATA, "formula": "distance ~ age + (1 | Subject)", "df": "kenward-roger"},
    "version 0 with a df alias": {"data": DATA, "formula": "distance ~ age + (1 | Subject)", "df": "KR"},
    "version 0 with data as an object": {"data": {"path": DATA}, "formula": "distance ~ age + (1 | Subject)"},
    "version 0 said explicitly": {"version": 0, "data": DATA, "formula": "distance ~ age + (1 | Subject)", "df": "z"},
    "version 1": {"format": "mixgui-analysis", "version": 1, "data": {"path": DATA, "sheet": None},
                  "formula": "distance ~ age + (1 | Subject)", "df_method": "kenward-roger"},
}


@pytest.mark.parametrize("name", sorted(EARLIER_VERSIONS))
def test_analysis_files_of_every_earlier_version_open_and_fit(workdir, name):
    path = workdir / f"old_{re.sub(r'[^a-z0-9]+', '_', name)}.json"
    path.write_text(json.dumps(EARLIER_VERSIONS[name]))
    spec, data_path = load_spec(path)
    assert data_path == (workdir / DATA).resolve()
    assert spec.df_method in DF_METHODS
    raw = EARLIER_VERSIONS[name]
    if "df" in raw:
        assert spec.df_method == {"kenward-roger": "kenward-roger", "KR": "kenward-roger", "z": "none"}[raw["df"]]
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["df_method"] == spec.df_method


def test_an_old_file_saved_again_is_written_as_the_current_version(workdir):
    from mixgui.analysis.spec import VERSION, save_spec

    old = workdir / "old_resave.json"
    old.write_text(json.dumps(EARLIER_VERSIONS["version 0 (no format, no version, df, data as a string)"]))
    spec, _ = load_spec(old)
    save_spec(spec, old)
    written = json.loads(old.read_text())
    assert written["format"] == "mixgui-analysis" and written["version"] == VERSION
    assert written["df_method"] == "kenward-roger" and written["data"]["path"] == DATA
    assert load_spec(old)[0] == spec


# -- no data loss: every writer goes through mixgui/fileio.py ---------------------------------------
#: direct writes in the package, each with why it is acceptable; a new one fails this test
KNOWN_DIRECT_WRITES = {
    # crash logs: diagnostics in new files of their own, nothing of the user's is overwritten
    ("mixgui/cli.py", "crash.write_text"),
    ("mixgui/gui/recovery.py", 'path.write_text("\\n".join(text)'),
    # reported to the lead: window screenshot (--screenshot) and plot exports write in place, a
    # crash while exporting leaves a truncated PNG/SVG. The user's data and analyses are not at risk.
    ("mixgui/gui/app.py", ".save(str(self.path)"),
    ("mixgui/gui/plots/views.py", "ex.export(str(path))"),
    ("mixgui/gui/plots/views.py", "gen.setFileName(str(path))"),
}
WRITE_PATTERNS = re.compile(
    r"""open\([^)]*['"][wax]b?['"]|\.write_text\(|\.write_bytes\(|\.to_csv\(\s*(?!index)[^)]*(path|str\()|"""
    r"""\.to_excel\(|\.export\(|setFileName\(|\.save\(str\(|shutil\.(copy|move)|os\.rename\(""")


def test_every_file_writer_goes_through_fileio():
    found = set()
    for path in sorted((ROOT / "mixgui").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "mixgui/fileio.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if WRITE_PATTERNS.search(line) and not line.strip().startswith("#"):
                key = next(((rel, k) for r, k in KNOWN_DIRECT_WRITES if r == rel and k in line), (rel, line.strip()))
                found.add(key)
    unexpected = sorted(found - KNOWN_DIRECT_WRITES)
    assert not unexpected, ("files written without mixgui.fileio's atomic writer (a crash mid-write loses the "
                            f"old file): {unexpected}")


@pytest.mark.xfail(strict=True, reason="engine bug (kenward_roger.py:179, inference.py:115): on a fit that did not "
                   "converge (orthodont, 14 subjects, agef*Sex + (1 | Subject) with a CSH R-side structure) the "
                   "Kenward-Roger adjusted covariance has a negative diagonal (NaN standard errors) and the type III "
                   "F test raises numpy's LinAlgError 'Singular matrix'; engine/inference/fixed.py now falls back to "
                   "Satterthwaite with a warning, this test checks the engine itself")
def test_kenward_roger_on_a_non_converged_csh_fit_gives_finite_tests(orthodont):
    import numpy as np

    from mixgui.analysis.formula import parse_formula
    from mixgui.engine.design import build_design
    from mixgui.engine.inference.anova3 import anova_table
    from mixgui.engine.inference.core import Inference
    from mixgui.pipeline.contract import fit_mixed

    spec = AnalysisSpec(formula="distance ~ agef * Sex + (1 | Subject)", factors=("agef",),
                        repeated=Repeated("CSH", "Subject", "age"), df_method="kenward-roger")
    ds = Dataset(orthodont.copy(), name="orthodont")
    design = build_design(parse_formula(spec.formula), ds.frame, factors=["agef", "Subject"],
                          extra_columns=["Subject", "age"])
    fit = fit_mixed(spec, design, ds)
    inference = Inference.build(fit, "kenward-roger", design.nobs)
    assert np.all(np.diag(inference.vcov) > 0), np.diag(inference.vcov)
    rows = anova_table(design, inference)
    assert all(np.isfinite(r["f_value"]) for r in rows)


@pytest.mark.parametrize("structure", [None, "AR1", "UN"])
@pytest.mark.parametrize("with_random", [True, False])
def test_further_analyses_with_every_kind_of_model_fit_or_say_why(orthodont, structure, with_random):
    """Effect sizes, bootstrap, structure comparison and pooling, each asked for wherever the
    analysis file accepts it: a result for each, or a 'not_computed' warning that says why."""
    formula = "distance ~ agef * Sex" + (" + (1 | Subject)" if with_random else "")
    spec = AnalysisSpec(formula=formula, factors=("agef",),
                        repeated=Repeated(structure, "Subject", "age") if structure else None,
                        random_effect_tests=with_random, bootstrap=5 if with_random else 0,
                        effect_sizes=True, compare_structures=structure is not None,
                        pooling="Subject" if with_random else None)
    try:
        result = run(spec, Dataset(orthodont.copy(), name="orthodont"))
    except MixGUIError as e:
        msg = str(e)
        assert msg and "\n" not in msg, msg
        assert with_random and structure == "UN", msg  # the documented refusal (see the test above)
        return
    d = result.data
    result.to_json()
    not_computed = [w for w in d["warning_details"] if w["kind"] == "not_computed"]
    for w in not_computed:
        assert w["message"] and "\n" not in w["message"]
    if structure is not None:
        assert d["structure_comparison"]["rows"], d.get("structure_comparison")
    if with_random and structure is None:
        assert d["effect_sizes"]["f2"] and d["pooling_comparison"]["rows"]
        assert all(r["bootstrap_replicates"] == 5 for r in d["random_effect_tests"])
    elif "effect_sizes" not in d:
        assert not_computed, "effect sizes were asked for: either computed or a warning says why"
