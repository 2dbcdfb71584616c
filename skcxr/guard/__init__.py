"""The input guard: refuse images the classifier was not made for, and say why.

A screening model scores anything it is given: a photograph, a CT slice, a
lateral film, a blank frame. :class:`InputGuard` refuses such inputs instead,
each with a :class:`Refusal` (a stable code and a short reason), so that a
worklist can mark them *unsuitable* rather than report a confident score.
"""

from .._lazy import attach

# Lazy: checking a saved state (skcxr info) needs numpy only, not scikit-learn.
__getattr__, __dir__, __all__ = attach(__name__, attributes={
    "._file_checks": ["FileChecks", "file_refusals"],
    "._guard": ["InputGuard"],
    "._helpers": ["fit_input_guard"],
    "._refusals": ["REFUSAL_CODES", "Refusal"],
    "._state": ["check_guard_state"],
})
