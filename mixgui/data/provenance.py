"""How a table was made from its file: import options, reshape steps, computed-variable recipes.

The window shows a table made in three recorded stages: read with :class:`ImportOptions`,
restructured by reshape steps (:mod:`mixgui.data.reshape`), extended by computed-variable
recipes (:mod:`mixgui.data.computed`). Whatever is saved (analysis file, project, recovery
copy) records the stages, and what is shown is what replaying them gives, so a saved analysis
reopens to the same table and the report's R script rebuilds it.

A :class:`Provenance` is immutable: a reshape or a new recipe makes a new one, so the session's
undo stack can hold the old one as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from mixgui.data.computed import apply_recipes
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions
from mixgui.errors import DataError


@dataclass(frozen=True)
class Provenance:
    """The three stages that made a table from its file.

    Attributes
    ----------
    import_options : ImportOptions or None
        How the file was read (None: as :func:`~mixgui.data.readers.read_table` reads it).
    steps : tuple
        Reshape steps (``WideToLong``, ``LongToWide``) applied after reading, in order.
    recipes : tuple
        Computed variables added last, in order (later ones may use earlier ones).
    """

    import_options: ImportOptions | None = None
    steps: tuple = ()
    recipes: tuple = ()

    def __post_init__(self):
        # lists from callers become tuples: a provenance must compare and hash by value
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "recipes", tuple(self.recipes))

    def with_step(self, step) -> Provenance:
        """This provenance with one more reshape step."""
        return replace(self, steps=self.steps + (step,))

    def with_recipe(self, recipe) -> Provenance:
        """This provenance with one more computed variable."""
        return replace(self, recipes=self.recipes + (recipe,))


def base_frame(dataset: Dataset, provenance: Provenance) -> pd.DataFrame:
    """``dataset``'s table without its computed columns (what a reshape step applies to)."""
    frame = dataset.frame
    made = [r.name for r in provenance.recipes if r.name in frame.columns]
    return frame.drop(columns=made) if made else frame


def _base_name(name: str) -> str:
    return name.split(" · ")[0]


def reshaped(dataset: Dataset, provenance: Provenance, step) -> tuple:
    """The data restructured by ``step``, computed variables recomputed on the result.

    Returns
    -------
    (Dataset, Provenance)

    Raises
    ------
    DataError
        The step does not fit the table, or a computed variable uses a column the step removes.
    """
    new = step.apply(base_frame(dataset, provenance))
    try:
        new = apply_recipes(new, provenance.recipes)
    except DataError as e:
        raise DataError(f"the computed variables cannot be remade after restructuring: {e}") from None
    kind = "long" if type(step).__name__ == "WideToLong" else "wide"
    made = Dataset(new, f"{_base_name(dataset.name)} · {kind}",
                   {c: v for c, v in dataset.levels.items() if c in new.columns},
                   {c: v for c, v in dataset.labels.items() if c in new.columns}, dataset.source)
    return made, provenance.with_step(step)


def with_recipe(dataset: Dataset, provenance: Provenance, recipe) -> tuple:
    """The data with one more computed variable (all recipes replayed, as on reopening).

    Returns
    -------
    (Dataset, Provenance)

    Raises
    ------
    DataError
        The variable has no name, its name is taken, or it cannot be computed.
    """
    if not str(recipe.name).strip():
        raise DataError("the new variable has no name; give it one")
    if recipe.name in dataset.frame.columns:
        raise DataError(f'a column called "{recipe.name}" exists already; choose another name')
    new = apply_recipes(base_frame(dataset, provenance), list(provenance.recipes) + [recipe])
    return Dataset(new, dataset.name, dict(dataset.levels), dict(dataset.labels), dataset.source), \
        provenance.with_recipe(recipe)


def with_level(dataset: Dataset, column: str, level: str) -> Dataset:
    """A copy of ``dataset`` (the same table) with ``column``'s measurement level changed.

    Raises
    ------
    DataError
        ``column`` is not in the data, ``level`` is unknown, or text would be made continuous.
    """
    from mixgui.data.dataset import LEVELS

    dataset.require(column)
    if level not in LEVELS:
        raise DataError(f'"{level}" is not a measurement level; use one of {", ".join(LEVELS)}')
    series = dataset.frame[column]
    if level == "continuous" and (not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise DataError(f"{column} holds text, so it cannot be continuous")
    return Dataset(dataset.frame, dataset.name, {**dataset.levels, column: level}, dict(dataset.labels),
                   dataset.source)
