"""Convert musicnn's TF1 checkpoints to audiokit's safetensors weights.

Reads the checkpoints straight out of the musicnn 0.1.0 wheel (no TensorFlow,
no install), maps TF variable names and layouts onto :mod:`.networks`, checks
that every model parameter is filled, and writes ``<name>.safetensors`` with the
source and license in its metadata. Adam slots and ``beta*_power`` are dropped.

Usage (from the repository root)::

    pip download musicnn==0.1.0 --no-deps -d /tmp/musicnn
    python -m audiokit.models.tagging.convert /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

then paste the printed sha256 lines into :data:`.registry.MODELS` if they changed.
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from audiokit.errors import FormatError

from .bundle import read_bundle
from .registry import LICENSE_NOTICE, MODELS, WEIGHTS_DIR, build_network

__all__ = ["tf_to_torch", "convert_wheel", "main"]


def _conv2d(kernel: np.ndarray) -> np.ndarray:
    return kernel.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)


def _conv_over_features(kernel: np.ndarray) -> np.ndarray:
    # a (7, C, 1, out) kernel spanning all C features of a (time, C, 1) map is a Conv1d over C channels
    return kernel[:, :, 0, :].transpose(2, 1, 0)  # -> (out, C, 7)


def _bn(tensors: dict, tf_name: str, torch_name: str) -> dict:
    return {
        f"{torch_name}.weight": tensors[f"{tf_name}/gamma"],
        f"{torch_name}.bias": tensors[f"{tf_name}/beta"],
        f"{torch_name}.running_mean": tensors[f"{tf_name}/moving_mean"],
        f"{torch_name}.running_var": tensors[f"{tf_name}/moving_variance"],
    }


def _layer(tensors: dict, tf_name: str, torch_name: str, transform: Callable[[np.ndarray], np.ndarray]) -> dict:
    return {
        f"{torch_name}.weight": transform(tensors[f"{tf_name}/kernel"]),
        f"{torch_name}.bias": tensors[f"{tf_name}/bias"],
    }


def _bn_name(index: int) -> str:
    return "batch_normalization" if index == 0 else f"batch_normalization_{index}"


def _musicnn_state(tensors: dict) -> dict:
    """TF variable names follow creation order in ``build_musicnn``."""
    state = _bn(tensors, _bn_name(0), "input_bn")
    branches = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2"]
    for index, branch in enumerate(branches):
        conv = "conv2d" if index == 0 else f"conv2d_{index}"
        state |= _layer(tensors, conv, f"{branch}.conv", _conv2d)
        state |= _bn(tensors, _bn_name(index + 1), f"{branch}.bn")
    for index in range(3):
        state |= _layer(tensors, f"conv2d_{5 + index}", f"midend_convs.{index}", _conv_over_features)
        state |= _bn(tensors, _bn_name(6 + index), f"midend_bns.{index}")
    state |= _bn(tensors, _bn_name(9), "pool_bn")
    state |= _layer(tensors, "dense", "dense", np.transpose)
    state |= _bn(tensors, _bn_name(10), "dense_bn")
    state |= _layer(tensors, "dense_1", "output", np.transpose)
    return state


def _vgg_state(tensors: dict) -> dict:
    state = _bn(tensors, _bn_name(0), "input_bn")
    for index in range(5):
        state |= _layer(tensors, f"{index + 1}CNN", f"convs.{index}", _conv2d)
        state |= _bn(tensors, _bn_name(index + 1), f"bns.{index}")
    state |= _layer(tensors, "dense", "output", np.transpose)
    return state


def tf_to_torch(name: str, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map one checkpoint's TF variables onto the torch module's state dict.

    Parameters
    ----------
    name : str
        A key of :data:`.registry.MODELS`, e.g. "MTT_musicnn".
    tensors : dict[str, np.ndarray]
        What :func:`.bundle.read_bundle` returned for that checkpoint.

    Returns
    -------
    dict[str, np.ndarray]
        Contiguous float32 arrays named as in the torch module's ``state_dict()``
        (without ``num_batches_tracked``), in torch layouts.

    Raises
    ------
    FormatError
        If a variable is missing, or a converted shape does not match the module.
    """
    spec = MODELS[name]
    try:
        state = _vgg_state(tensors) if spec.architecture == "vgg" else _musicnn_state(tensors)
    except KeyError as error:
        raise FormatError(f"checkpoint for {name} lacks variable {error.args[0]!r}") from None
    expected = {k: tuple(v.shape) for k, v in build_network(name).state_dict().items()
                if not k.endswith("num_batches_tracked")}
    if set(expected) != set(state):
        raise FormatError(f"{name}: converted names differ from the module's: "
                          f"{sorted(set(expected) ^ set(state))}")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise FormatError(f"{name}: {key} converts to shape {state[key].shape}; the module has {shape}")
    return {key: np.ascontiguousarray(value, np.float32) for key, value in state.items()}


def convert_wheel(wheel: str | Path, out_dir: str | Path = WEIGHTS_DIR) -> dict[str, str]:
    """Convert every model of :data:`.registry.MODELS` found in the musicnn wheel.

    Parameters
    ----------
    wheel : str or os.PathLike
        ``musicnn-0.1.0-py3-none-any.whl``.
    out_dir : str or os.PathLike
        Where to write ``<name>.safetensors`` (default: the package's weights folder).

    Returns
    -------
    dict[str, str]
        sha256 of each written file, by model name.
    """
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digests = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, spec in MODELS.items():
            prefix = f"musicnn/{name}/"
            tensors = read_bundle(archive.read(prefix + ".index"), [archive.read(prefix + ".data-00000-of-00001")])
            metadata = {"name": name, "source": spec.weights.source, "license": LICENSE_NOTICE}
            target = out_dir / f"{name}.safetensors"
            temporary = target.with_suffix(".tmp")
            save_file(tf_to_torch(name, tensors), str(temporary), metadata=metadata)
            temporary.replace(target)
            digests[name] = hashlib.sha256(target.read_bytes()).hexdigest()
    return digests


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python -m audiokit.models.tagging.convert WHEEL [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", help="path to musicnn-0.1.0-py3-none-any.whl")
    parser.add_argument("--out", default=str(WEIGHTS_DIR), help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for name, digest in convert_wheel(args.wheel, args.out).items():
        size = (Path(args.out) / f"{name}.safetensors").stat().st_size
        print(f"{name}: sha256 {digest} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
