"""Events as columns: a batch of records held as one array per field."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Categorical:
    """A text column of few distinct values: each row's value is ``values[codes[row]]``."""

    codes: npt.NDArray[np.int64]
    values: tuple[str, ...]


#: A column: numbers as an array (integers or floats), text as a Categorical.
Column = npt.NDArray[np.int64] | npt.NDArray[np.float64] | Categorical
