"""The ``skcxr`` command line (``skcxr screen``, ``train``, ``evaluate``, ``info``).

Installed as the ``skcxr`` console script; ``python -m skcxr`` is the same.
"""

from ._main import main

__all__ = ["main"]
