"""The ``skcxr`` command line (``skcxr screen``, ``train``, ``evaluate``, ``info``).

Installed as the ``skcxr`` console script; ``python -m skcxr`` is the same.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
