"""Bad outcomes of generalized models are refused with a sentence naming the column (never fitted).

The same checks through ``run()`` (offset with zeros under log included) are in
tests/results/test_glmm_contract.py; here every branch of the engine's check, by itself.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixgui.engine.glmm.outcome import binary_codes, check_outcome
from mixgui.errors import DataError


@pytest.mark.parametrize("y,family,trials,words", [
    ([0, 1, 2], "binomial", None, ['"resp"', "0 or 1", "2"]),
    ([0, 1, 0.5], "binomial", None, ['"resp"', "0 or 1", "0.5"]),
    ([0, 3, 5], "binomial", [4, 4, 4], ['"resp"', "more successes than trials", '"n"']),
    ([0, 1, -1], "binomial", [4, 4, 4], ['"resp"', "successes", "-1"]),
    ([0, 1.5, 1], "binomial", [4, 4, 4], ['"resp"', "successes", "1.5"]),
    ([0, 1, 1], "binomial", [4, -2, 4], ['"n"', "whole non-negative", "-2"]),
    ([0, 1, 1], "binomial", [4, 2.5, 4], ['"n"', "whole non-negative", "2.5"]),
    ([0, 0, 1], "binomial", [4, 0, 4], ['"n"', "0 trials"]),
    ([0, 2, -3], "poisson", None, ['"resp"', "negative", "-3"]),
    ([0, 2, -3], "negative_binomial", None, ['"resp"', "negative"]),
    ([0, 2.25, 3], "poisson", None, ['"resp"', "whole numbers", "2.25"]),
    ([0, 2.25, 3], "negative_binomial", None, ['"resp"', "whole numbers"]),
])
def test_bad_outcome_is_refused_naming_the_column(y, family, trials, words):
    with pytest.raises(DataError) as e:
        check_outcome(np.array(y, float), family, "resp", None if trials is None else np.array(trials, float), "n")
    msg = str(e.value)
    for w in words:
        assert w in msg
    assert "\n" not in msg


def test_valid_outcomes_pass_with_their_weights():
    y, w = check_outcome(np.array([0.0, 2, 4]), "binomial", "resp", np.array([4.0, 4, 4]), "n")
    np.testing.assert_allclose(y, [0, 0.5, 1])
    np.testing.assert_allclose(w, [4, 4, 4])
    y, w = check_outcome(np.array([0.0, 7, 3]), "poisson", "resp")
    np.testing.assert_allclose(y, [0, 7, 3])
    np.testing.assert_allclose(w, 1)


def test_two_level_text_outcome_codes_the_second_sorted_level_as_success():
    codes, success = binary_codes(pd.Series(["no", "yes", None, "no"]), "resp")
    assert success == "yes"
    np.testing.assert_allclose(codes.to_numpy(), [0, 1, np.nan, 0])


def test_text_outcome_with_three_values_is_refused_naming_them():
    with pytest.raises(DataError, match='"resp" has 3 different values'):
        binary_codes(pd.Series(["no", "yes", "maybe"]), "resp")
