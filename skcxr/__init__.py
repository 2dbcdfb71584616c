"""skcxr: scikit-learn-compatible chest X-ray screening (NORMAL vs PNEUMONIA).

A preliminary screening aid that flags possibly concerning films so that a
radiologist can review them sooner; it never replaces the radiologist.
"""

# First: modules of this package read the version while it imports.
__version__ = "0.1.0.dev0"

from ._lazy import attach  # noqa: E402

# Names load their submodule on first use (PEP 562): `import skcxr` imports
# no torch, so the command line starts at once.
__getattr__, __dir__, __all__ = attach(
    __name__,
    submodules=["backends", "classifier", "cli", "datasets", "ensemble", "exceptions", "explain",
                "guard",
                "metrics", "model_selection", "models", "plot", "preprocessing", "pretrained",
                "screener", "site", "utils"],
    attributes={
        ".backends": ["export"],
        ".classifier": ["AcceleratedCXRClassifier", "CXRClassifier"],
        ".datasets": ["fetch_chest_xray", "load_chest_xray"],
        ".preprocessing": ["ImageLoader"],
        ".pretrained": ["list_pretrained", "load_pretrained"],
        ".screener": ["ModelCard", "Screener", "load_screener"],
        ".site": ["calibrate_screener", "fit_screener"],
    },
)
__all__ = [*__all__, "__version__"]
