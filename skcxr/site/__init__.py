"""Making a screener a site's own: fine-tune or train on its films, set the threshold there.

:func:`fit_screener` is the one training workflow (``skcxr train`` calls
it): a validation split by patient, training from a preset or from a
screener's weights, an input guard fitted on the site's films, a threshold
with a stated guarantee, and a card that records all of it, with the base
screener measured beside the new one. :func:`calibrate_screener` sets the
threshold (and guard) on a site's films without retraining (``skcxr
calibrate``).
"""

from ._calibrate import calibrate_screener
from ._fit import fit_screener

__all__ = ["calibrate_screener", "fit_screener"]
