import pytest
import torch

from skcxr.models import CXRNet, available_modules, create_module, torchvision_model


@pytest.mark.parametrize("size", [64, 100, 224])
def test_cxrnet_takes_any_size_and_returns_logits(size):
    net = CXRNet().eval()
    out = net(torch.randn(3, 1, size, size))
    assert out.shape == (3, 2)
    assert not torch.allclose(out.softmax(1).sum(1), out.sum(1))  # logits, not probabilities


def test_cxrnet_default_is_the_original_architecture():
    net = CXRNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 56]
    assert all(c.kernel_size == (5, 5) for c in convs)
    pools = [m for m in net.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [512, 2]


def test_cxrnet_every_part_is_a_parameter():
    net = CXRNet(in_channels=3, channels=(8, 8, 8, 8), kernel_size=3, hidden_units=0,
                 dropout=0.5, batch_norm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 4
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 1
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 2)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        CXRNet(kernel_size=4)


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "efficientnet_b0"])
def test_torchvision_architectures_one_channel_two_logits(name):
    net = create_module(name, in_channels=1, n_classes=2).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, 64, 64)).shape == (1, 2)


def test_torchvision_weights_from_local_file(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(reference.state_dict(), path)
    net = torchvision_model("resnet18", in_channels=1, weights_path=path)
    # The grey stem is the RGB stem summed over colour channels.
    torch.testing.assert_close(net.conv1.weight, reference.conv1.weight.sum(1, keepdim=True))
    torch.testing.assert_close(net.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="resnet18"):
        create_module("vgg11")
    assert {"cxrnet", "resnet18", "densenet121", "efficientnet_b0", "tiny"} <= set(available_modules())


def test_the_test_network_is_registered_but_not_public():
    import skcxr.models

    assert "tiny" in available_modules()  # tests build it by name
    assert "tiny_cxrnet" not in skcxr.models.__all__
    assert not hasattr(skcxr.models, "tiny_cxrnet")
