"""Learner mastery: online knowledge tracing from every piece of evidence, with graph propagation.

- ``MasteryModel`` (``model.py``): the product model, performance-factors
  logistic regression with learner ability and recency; ``Learner`` is one
  learner's live view (``update(Evidence)``, ``mastery``, ``readiness``).
- ``BKT`` (``bkt.py``): plain Bayesian Knowledge Tracing, the baseline.
- ``propagate`` / ``readiness`` (``propagation.py``): evidence along
  prerequisite edges, readiness with AND and any_of groups.
- ``Evidence`` / ``LearnerState`` (``state.py``): the records the Django side stores.
- ``read_sequences`` (``data.py``): the ASSISTments 2009 builder split.

Pure: numpy, scipy, scikit-learn and networkx; nothing from Django.
"""

from models.mastery.bkt import BKT, BKTConfig, BKTParams, BKTState
from models.mastery.data import Sequence, read_sequences
from models.mastery.model import Learner, MasteryConfig, MasteryModel
from models.mastery.propagation import PropagationConfig, propagate, readiness
from models.mastery.state import Counters, Evidence, EvidenceKind, LearnerState

__all__ = [
    "BKT",
    "BKTConfig",
    "BKTParams",
    "BKTState",
    "Counters",
    "Evidence",
    "EvidenceKind",
    "Learner",
    "LearnerState",
    "MasteryConfig",
    "MasteryModel",
    "PropagationConfig",
    "Sequence",
    "propagate",
    "read_sequences",
    "readiness",
]
