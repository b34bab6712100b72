"""Item response theory for Tutorgraph: calibration, scoring and adaptive testing.

A pure library (numpy/scipy, optional torch), shaped like scikit-learn:
hyperparameters in ``__init__``, ``fit`` returns ``self``, learned attributes
end in ``_``. Inputs are long-format logs, three equal-length integer arrays
``(person, item, correct)``, never a dense persons x items matrix.

>>> from models.irt import IRTModel, ItemParams, AdaptiveTest
>>> IRTModel(model="3pl").config.model
'3pl'
"""

from .cat import (
    AdaptiveTest,
    fisher_information,
    select_max_info,
    select_target_success,
    should_stop,
    update_theta,
)
from .config import IRTConfig
from .estimator import IRTModel
from .items import ItemParams
from .scoring import eap, map_theta

__all__ = [
    "AdaptiveTest",
    "IRTConfig",
    "IRTModel",
    "ItemParams",
    "eap",
    "fisher_information",
    "map_theta",
    "select_max_info",
    "select_target_success",
    "should_stop",
    "update_theta",
]
