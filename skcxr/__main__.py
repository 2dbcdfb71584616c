"""``python -m skcxr``: the same as the ``skcxr`` command."""

from .cli import main

if __name__ == "__main__":  # not when a doctest collector imports the module
    raise SystemExit(main())
