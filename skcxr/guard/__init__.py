"""The input guard: refuse images the classifier was not made for, and say why.

A screening model scores anything it is given: a photograph, a CT slice, a
lateral film, a blank frame. :class:`InputGuard` refuses such inputs instead,
with a short reason, so that a worklist can mark them *unsuitable* rather
than report a confident score.
"""

from ._file_checks import file_reasons
from ._guard import InputGuard
from ._helpers import fit_input_guard

__all__ = ["InputGuard", "file_reasons", "fit_input_guard"]
