"""The one image warp: training augmentation and test-time views both resample through it.

torch is imported on first use: ``skcxr.utils`` is also what the input guard
validates batches with, and screening with an ONNX backend needs no torch.
"""


def affine_warp(x, theta):
    """Resample a float batch through per-image affine maps, repeating the border.

    Parameters
    ----------
    x : torch.Tensor of shape (n, channels, height, width), float
        The images.
    theta : torch.Tensor of shape (n, 2, 3)
        Maps each output pixel to the input point it shows, in
        ``affine_grid``'s coordinates (each side spans [-1, 1]).

    Returns
    -------
    warped : torch.Tensor like x
        Bilinear samples; points outside the image repeat its border (a
        real film has no black margins or corners).
    """
    import torch.nn.functional as F

    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
