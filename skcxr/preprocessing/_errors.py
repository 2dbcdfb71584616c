"""The error every per-item reading failure becomes."""


class ItemError(ValueError):
    """A ValueError whose message already names the item (file or index)."""
