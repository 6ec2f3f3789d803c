"""Torch ports of musicnn's architectures (``musicnn/models.py``, musicnn 0.1.0).

TensorFlow semantics are kept where they change numbers:

- batch normalization is inference-only with epsilon 1e-3 (``tf.layers`` default)
  and follows the ReLU (``conv(activation=relu)`` then ``batch_normalization``);
- 'same' padding of an even kernel puts the extra sample after:
  ``before = (k - 1) // 2``, ``after = k // 2``;
- flattening is NHWC: the back end's ``concat([max, mean], axis=2)`` of
  ``(batch, 753, 1)`` tensors flattens to ``[max_0, mean_0, max_1, mean_1, ...]``,
  and VGG's ``(batch, 2, 1, 128)`` pool5 flattens time-major.

Each module takes log-mel patches ``(batch, 187, 96)`` (time, mel) and returns
``(logits, embedding)``: the pre-sigmoid scores ``(batch, 50)`` and the layer
before the output (musicnn: the 200-unit ``penultimate`` after its batch norm;
VGG: the 256 flattened ``pool5`` values).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BN_EPSILON", "Musicnn", "Vgg"]

#: ``tf.compat.v1.layers.batch_normalization`` default epsilon
BN_EPSILON = 1e-3


def _bn(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=BN_EPSILON)


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON)


class _FreqMaxBranch(nn.Module):
    """conv -> ReLU -> BN -> max over all frequencies: one front-end branch.

    ``time_pad`` is the (before, after) zero padding of the time axis.

    The forward pass computes the same numbers as ``bn(relu(conv(x))).amax(mel)``
    with one reduction of the conv output instead of three passes over it:
    ReLU and the inference BN are monotone per channel (increasing where the
    BN scale ``gamma / sqrt(var + eps)`` is >= 0, decreasing where it is
    negative), so the max over mel of ``bn(relu(y))`` is ``bn(relu(max y))``,
    or ``bn(relu(min y))`` for a negative scale; ``min y = -max(-y)``, and
    ``-y`` is the conv with that channel's weights and bias negated (exact in
    floating point). The conv output, the largest tensor of the network, is
    reduced once and never passes through ReLU or BN.
    """

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]):
        super().__init__()
        before, after = time_pad
        # the conv pads ``after`` zeros on both sides and the first ``after - before`` outputs are
        # dropped: the same numbers as padding (before, after), without copying the input
        self.skip = after - before
        self.conv = nn.Conv2d(1, filters, kernel, padding=(after, 0))
        self.bn = _bn(filters)  # applied after the max over mel, on (batch, filters, time)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, time, mel) -> (batch, filters, time)
        sign = torch.where(self.bn.weight < 0, -1.0, 1.0).to(x.dtype)
        weight = self.conv.weight * sign[:, None, None, None]
        bias = None if self.conv.bias is None else self.conv.bias * sign
        kernel_mel = weight.shape[3]
        if kernel_mel == 1:  # temporal branch: a plain conv, max over the contiguous mel axis
            high = F.conv2d(x, weight, bias, padding=self.conv.padding)[:, :, self.skip :].amax(dim=3)
        else:
            # timbral branch: the mel taps become input channels, channels-last (oneDNN runs a
            # many-channel (time, 1) conv faster than a one-channel (time, mel) one; measured ~25 %)
            x = x[:, 0].unfold(2, kernel_mel, 1).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            weight = weight[:, 0].permute(0, 2, 1).unsqueeze(3).contiguous(memory_format=torch.channels_last)
            y = F.conv2d(x, weight, bias, padding=self.conv.padding)[:, :, self.skip :]
            high = y.permute(0, 2, 3, 1).amax(dim=2).transpose(1, 2)  # channels-last: reduce a middle axis
        return self.bn(F.relu(high * sign[None, :, None]))


class Musicnn(nn.Module):
    """musicnn: timbral + temporal front end, dense mid end, temporal-pooling back end.

    Parameters
    ----------
    num_classes : int
        Output tags (50 for MTT and MSD).
    n_mels : int
        Mel bands of the input (96).
    frontend_filters : float
        Front-end width multiplier (``num_filt=1.6``: 204 timbral, 51 temporal filters).
    midend_filters : int
        Mid-end filters (64).
    backend_units : int
        Penultimate dense units (200).
    """

    def __init__(self, *, num_classes: int = 50, n_mels: int = 96, frontend_filters: float = 1.6,
                 midend_filters: int = 64, backend_units: int = 200):
        super().__init__()
        timbral, temporal = int(frontend_filters * 128), int(frontend_filters * 32)
        self.input_bn = _bn2d(1)
        self.timbral = nn.ModuleList(
            _FreqMaxBranch(timbral, (7, int(fraction * n_mels)), (3, 3)) for fraction in (0.4, 0.7)
        )
        self.temporal = nn.ModuleList(
            _FreqMaxBranch(temporal, (length, 1), ((length - 1) // 2, length // 2)) for length in (128, 64, 32)
        )
        frontend_channels = 2 * timbral + 3 * temporal
        self.midend_convs = nn.ModuleList(
            nn.Conv1d(channels, midend_filters, 7, padding=3) for channels in (frontend_channels, midend_filters, midend_filters)
        )
        self.midend_bns = nn.ModuleList(_bn(midend_filters) for _ in range(3))
        pooled = 2 * (frontend_channels + 3 * midend_filters)
        self.pool_bn = _bn(pooled)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_bn = _bn(backend_units)
        self.output = nn.Linear(backend_units, num_classes)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and embeddings of log-mel patches.

        Parameters
        ----------
        patches : torch.Tensor [shape=(batch, time, mel), dtype=float32]

        Returns
        -------
        logits : torch.Tensor [shape=(batch, num_classes)]
        embedding : torch.Tensor [shape=(batch, backend_units)]
        """
        x = self.input_bn(patches.unsqueeze(1))
        front = torch.cat([branch(x) for branch in (*self.timbral, *self.temporal)], dim=1)
        features, previous = [front], front
        for index, (conv, bn) in enumerate(zip(self.midend_convs, self.midend_bns)):
            out = bn(F.relu(conv(previous)))
            previous = out if index == 0 else out + previous  # residual from the second layer on
            features.append(previous)
        dense = torch.cat(features, dim=1)  # (batch, 753, time)
        pooled = torch.stack([dense.amax(dim=2), dense.mean(dim=2)], dim=2).flatten(1)  # NHWC order
        embedding = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return self.output(embedding), embedding


class Vgg(nn.Module):
    """musicnn's VGG-like baseline: five 3x3 conv + ReLU + BN + max-pool blocks.

    Parameters
    ----------
    num_classes : int
        Output tags (50).
    filters : int
        Filters per conv layer (128).
    """

    #: (pool size, stride) of each block, as (time, mel); TF 'valid' pooling
    POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))

    def __init__(self, *, num_classes: int = 50, filters: int = 128, flat_features: int = 256):
        super().__init__()
        self.input_bn = _bn2d(1)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5))
        self.bns = nn.ModuleList(_bn2d(filters) for _ in range(5))
        self.output = nn.Linear(flat_features, num_classes)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and flattened pool5 features of log-mel patches.

        Parameters
        ----------
        patches : torch.Tensor [shape=(batch, 187, 96), dtype=float32]

        Returns
        -------
        logits : torch.Tensor [shape=(batch, num_classes)]
        embedding : torch.Tensor [shape=(batch, 256)]
        """
        x = self.input_bn(patches.unsqueeze(1))
        for conv, bn, (size, stride) in zip(self.convs, self.bns, self.POOLS):
            x = F.max_pool2d(bn(F.relu(conv(x))), size, stride)
        flat = x.permute(0, 2, 3, 1).flatten(1)  # NHWC: (batch, 2, 1, 128) time-major
        return self.output(flat), flat
