"""CXRNet: a small CNN+FC network, with every part a parameter."""

from torch import nn


class CXRNet(nn.Module):
    """Convolutional blocks then a fully connected head; returns logits.

    The defaults are a small classic network: three blocks
    of 5x5 convolution (16, 32 and 56 filters), ReLU and 2x2 max-pooling with
    stride 2, then a 512-unit hidden layer and 2 logits.

    One change makes it take any input size: the last feature map is
    average-pooled to ``pooled_size`` x ``pooled_size`` before the head. The
    original flattened the whole 28x28 map of a 224 px input (43,904
    features, 22 M weights in the first dense layer); pooling to 7x7 keeps
    2,744 features and 1.4 M weights.

    Parameters
    ----------
    in_channels : int, default=1
        Image channels (1 for grayscale).
    n_classes : int, default=2
        Number of logits.
    channels : sequence of int, default=(16, 32, 56)
        Filters per convolutional block; its length is the depth.
    kernel_size : int, default=5
        Convolution kernel size (odd; padded to keep the spatial size).
    hidden_units : int, default=512
        Width of the hidden dense layer; 0 goes straight to the logits.
    dropout : float, default=0.0
        Dropout before each dense layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.
    pooled_size : int, default=7
        Side of the feature map fed to the head.
    """

    def __init__(
        self,
        in_channels=1,
        n_classes=2,
        channels=(16, 32, 56),
        kernel_size=5,
        hidden_units=512,
        dropout=0.0,
        batch_norm=False,
        pooled_size=7,
    ):
        super().__init__()
        if not channels:
            raise ValueError("channels must name at least one convolutional block.")
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd; got {kernel_size}.")
        blocks = []
        previous = in_channels
        for width in channels:
            blocks += [nn.Conv2d(previous, width, kernel_size, padding=kernel_size // 2,
                                 bias=not batch_norm)]
            if batch_norm:
                blocks.append(nn.BatchNorm2d(width))
            blocks += [nn.ReLU(inplace=True), nn.MaxPool2d(2, stride=2)]
            previous = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(pooled_size)
        head = [nn.Flatten()]
        n_features = previous * pooled_size * pooled_size
        if hidden_units:
            head += [nn.Dropout(dropout), nn.Linear(n_features, hidden_units), nn.ReLU(inplace=True)]
            n_features = hidden_units
        head += [nn.Dropout(dropout), nn.Linear(n_features, n_classes)]
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        """Compute the logits of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch_size, in_channels, height, width)
            Normalised images.

        Returns
        -------
        logits : torch.Tensor of shape (batch_size, n_classes)
            One logit per class.
        """
        return self.classifier(self.pool(self.features(x)))


def _tiny_cxrnet(in_channels=1, n_classes=2, **kwargs):
    """A very small CXRNet for tests and smoke runs (milliseconds per batch)."""
    params = dict(channels=(4, 8), kernel_size=3, hidden_units=16, pooled_size=4)
    params.update(kwargs)
    return CXRNet(in_channels=in_channels, n_classes=n_classes, **params)
