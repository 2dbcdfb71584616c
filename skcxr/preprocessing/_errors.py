"""The error every per-item reading failure becomes."""


class ItemError(ValueError):
    """A ValueError whose message already names the item (file or index).

    Parameters
    ----------
    message : str
        The whole sentence, naming the item.
    code : str, default="unreadable"
        What went wrong, as one of :data:`skcxr.guard.REFUSAL_CODES`
        (``"truncated"``, ``"multi_frame"``, ``"too_large"``, ...): a screen
        turns the error into a worklist row with this code.
    reason : str or None, default=None
        The same in a few words, without the file name ("truncated JPEG"),
        for that row; None uses ``message``.
    """

    def __init__(self, message, *, code="unreadable", reason=None):
        super().__init__(message)
        self.code = code
        self.reason = message if reason is None else reason

    def __reduce__(self):
        # The keyword arguments survive pickling (a process pool, a Dask worker).
        return _rebuild, (str(self), self.code, self.reason)


def _rebuild(message, code, reason):
    return ItemError(message, code=code, reason=reason)
