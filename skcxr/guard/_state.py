"""What a saved input guard's state must hold, checked with numpy alone.

``InputGuard.from_state`` checks a state with it before building a guard,
and ``skcxr info`` checks a screener folder's ``guard.npz`` with it without
importing scikit-learn or torch.
"""

import numpy as np

THUMBNAIL_SIDE = 16  # the side of the thumbnails the guard's thumbnail model reads
STATE_FORMAT = "skcxr.InputGuard/1"


def check_guard_state(state):
    """Raise a ValueError naming what is wrong with an input guard's saved state.

    Parameters
    ----------
    state : dict
        As ``InputGuard.get_state`` gives it (numpy arrays and numbers).

    Raises
    ------
    ValueError
        For another format, a missing key, an array of the wrong shape or
        type, or NaN or infinite values.
    """
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"Not an input guard state: format {state.get('format')!r}, "
                         f"expected {STATE_FORMAT!r}.")
    _check_keys_and_shapes(state)
    # A NaN limit or score scale compares False everywhere: the guard would refuse nothing.
    damaged = sorted(key for key, value in state.items()
                     if (isinstance(value, np.ndarray) and value.dtype.kind == "f"
                         or isinstance(value, float)) and not np.isfinite(value).all())
    if damaged:
        raise ValueError(
            f"The input guard's state holds NaN or infinite values in {', '.join(damaged)}: "
            "it is damaged and would refuse nothing. Restore the screener or fit the guard "
            "again.")


_SCALARS = ("max_false_rejection", "calibration_size", "n_components", "threshold",
            "n_features_in", "calibration_rejection", "n_calibration",
            "thumbnail.noise_variance", "layout.low_correlation")


def _check_keys_and_shapes(state):
    """A ValueError naming what a guard state lacks, or which array has the wrong shape.

    Without it a damaged state fails later, mid-screen, with numpy's
    broadcasting error and no file named.
    """
    pixels = THUMBNAIL_SIDE ** 2
    arrays = ("input_shape", "score_median", "score_scale", "features.mean", "features.precision",
              "thumbnail.mean", "thumbnail.components", "thumbnail.variance", "layout.template",
              "layout.margins")
    missing = [key for key in (*_SCALARS, *arrays) if key not in state]
    if missing:
        raise ValueError(f"The input guard's state lacks {', '.join(missing)}: it is damaged or "
                         "was written by another tool.")
    n_features = int(state["n_features_in"])
    n_components = int(np.size(state["thumbnail.variance"]))
    expected = {"input_shape": (3,), "score_median": (2,), "score_scale": (2,),
                "features.mean": (n_features,), "features.precision": (n_features, n_features),
                "thumbnail.mean": (pixels,), "thumbnail.components": (n_components, pixels),
                "thumbnail.variance": (n_components,), "layout.template": (pixels,),
                "layout.margins": np.shape(state["layout.margins"])}
    for key in _SCALARS:
        expected[key] = ()
    wrong = [f"{key} has shape {np.shape(state[key])}, not {shape}"
             for key, shape in expected.items() if np.shape(state[key]) != shape]
    wrong += [f"{key} holds {np.asarray(state[key]).dtype} values, not numbers"
              for key in expected if np.asarray(state[key]).dtype.kind not in "biuf"]
    if wrong:
        raise ValueError(f"The input guard's state is inconsistent ({'; '.join(wrong[:3])}; "
                         f"{n_features} features and {n_components} thumbnail components): it is "
                         "damaged or was written by another tool.")
