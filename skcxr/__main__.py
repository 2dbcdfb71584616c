"""``python -m skcxr``: the same as the ``skcxr`` command."""

from .cli import main

raise SystemExit(main())
