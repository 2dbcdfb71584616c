"""Warnings and errors of skcxr."""

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """An estimator pickled under one skcxr version is loaded under another.

    As scikit-learn's warning of the same name: the object may still work,
    or may be subtly wrong (a changed input head, a renamed attribute).
    Refit it, or load it with the version that saved it.

    Attributes
    ----------
    estimator_name : str
    current_version : str
    original_version : str
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Loading {self.estimator_name} pickled with skcxr {self.original_version} under "
            f"skcxr {self.current_version}: it may not work as it did. Refit it, or load it "
            f"with skcxr {self.original_version}."
        )
