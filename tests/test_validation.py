"""check_image_batch refuses layouts it would otherwise misread (issue 13, item 8)."""

import numpy as np
import pytest

from skcxr.utils import check_image_batch


@pytest.mark.parametrize(
    "shape, channels, message",
    [
        ((4, 64, 64, 3), None, r"\(4, 64, 64, 3\), which looks channels-last"),
        ((4, 64, 64, 1), None, r"\(4, 64, 64, 1\), which looks channels-last"),
        ((4, 64, 64, 4), None, "looks channels-last"),
        ((4, 3, 64, 3), None, "is ambiguous: it also reads as channels-last"),
        ((4, 1, 64, 1), None, "is ambiguous"),
        ((4, 64, 64, 1), 1, "looks channels-last"),  # at predict, fitted on 1 channel
        ((4, 64, 64, 3), 1, "looks channels-last"),
        ((64, 64, 3), None, r"stack of 64 grayscale images 3 pixel\(s\) wide, or one channels"),
    ],
)
def test_channels_last_and_ambiguous_batches_are_refused(shape, channels, message):
    with pytest.raises(ValueError, match=message) as info:
        check_image_batch(np.zeros(shape, np.uint8), channels=channels)
    assert "moveaxis" in str(info.value)


@pytest.mark.parametrize("shape", [(4, 1, 64, 64), (4, 3, 32, 40), (4, 2, 64, 64), (4, 64, 64)])
def test_channels_first_batches_pass(shape):
    X = check_image_batch(np.zeros(shape, np.uint8))
    assert X.ndim == 4 and X.shape[0] == 4


def test_channels_last_fix_from_the_message_works():
    X = np.zeros((4, 64, 48, 3), np.uint8)
    assert check_image_batch(np.moveaxis(X, -1, 1)).shape == (4, 3, 64, 48)


def test_channel_count_mismatch_message_is_unchanged():
    with pytest.raises(ValueError, match="X has 3 channel.*fitted on 1"):
        check_image_batch(np.zeros((2, 3, 64, 64), np.uint8), channels=1)
