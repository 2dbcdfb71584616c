"""The input guard: refuse images the classifier was not made for, and say why.

A screening model scores anything it is given: a photograph, a CT slice, a
lateral film, a blank frame. :class:`InputGuard` refuses such inputs instead,
each with a :class:`Refusal` (a stable code and a short reason), so that a
worklist can mark them *unsuitable* rather than report a confident score.
"""

from ._file_checks import FileChecks, file_refusals
from ._guard import InputGuard
from ._helpers import fit_input_guard
from ._refusals import REFUSAL_CODES, Refusal

__all__ = [
    "FileChecks",
    "InputGuard",
    "REFUSAL_CODES",
    "Refusal",
    "file_refusals",
    "fit_input_guard",
]
