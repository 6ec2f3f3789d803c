"""CTranslate2 Whisper ``model.bin`` -> openai-whisper checkpoint, cached.

The reader follows CTranslate2's binary model format, version 6, little-endian::

    u32 version; string spec_name; u32 revision; u32 num_variables
    num_variables x (string name; u8 rank; rank x u32 dims; u8 dtype; u32 num_bytes; bytes)
    u32 num_aliases; num_aliases x (string alias; string target)

where a string is a u16 length (counting its NUL), the bytes and the NUL, and
dtype is 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16.

CTranslate2 fuses attention projections: self-attention ``linear_0`` stacks
q, k, v by rows (the key bias is zero), ``linear_1`` is the output;
cross-attention ``linear_0`` is the query, ``linear_1`` stacks key and value,
``linear_2`` is the output. The output projection is an alias of the token
embedding, as in openai-whisper. The converted checkpoint has openai's ``.pt``
layout (``{"dims": ..., "model_state_dict": ...}``) plus the alignment heads
from ``config.json``; it is saved under the audiokit cache, named after the
source's sha256, with its own sha256 beside it, and loaded with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from audiokit._files import file_sha256, write_atomically
from audiokit.errors import ModelError

from .._registry import cache_dir, require
from .registry import WhisperWeights

__all__ = ["read_ctranslate2", "convert_ctranslate2", "load_checkpoint"]

#: The only model.bin format version this reader understands.
BINARY_VERSION = 6

# CTranslate2 dtype code -> numpy dtype name; numpy has no bfloat16, read_ctranslate2 widens it by hand.
_DTYPES: dict[int, str] = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}

# CTranslate2 sub-layer name -> openai-whisper name, per block.
_LAYER_NORMS = {
    "self_attention/layer_norm": "attn_ln",
    "attention/layer_norm": "cross_attn_ln",
    "ffn/layer_norm": "mlp_ln",
}
_LINEARS = {"ffn/linear_0": "mlp.0", "ffn/linear_1": "mlp.2"}


def read_ctranslate2(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read every variable and alias of a CTranslate2 ``model.bin``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``model.bin`` file.

    Returns
    -------
    variables : dict[str, np.ndarray]
        Name -> array with the stored shape and dtype (bfloat16 is widened to float32).
    aliases : dict[str, str]
        Alias name -> the variable it refers to.

    Raises
    ------
    ModelError
        If the file is not a version-6 CTranslate2 model or is truncated.
    """
    path = Path(path)
    try:
        return _parse(memoryview(path.read_bytes()), path)
    except (struct.error, ValueError, KeyError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: not a readable CTranslate2 model.bin ({error})") from error


def _parse(data: memoryview, path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    offset = 0

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    def string() -> str:
        nonlocal offset
        (length,) = take("H")
        text = bytes(data[offset : offset + length - 1]).decode("utf-8")
        offset += length
        return text

    (version,) = take("I")
    if version != BINARY_VERSION:
        raise ModelError(f"{path}: CTranslate2 binary version {version}; this reader understands {BINARY_VERSION}")
    spec_name = string()
    if spec_name != "WhisperSpec":
        raise ModelError(f"{path}: holds a {spec_name}, not a WhisperSpec")
    take("I")  # spec revision
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank)
        dtype_code, num_bytes = take("B") + take("I")
        raw = data[offset : offset + num_bytes]
        if len(raw) != num_bytes:
            raise ModelError(f"{path}: truncated inside variable {name!r}")
        offset += num_bytes
        dtype = _DTYPES[dtype_code]
        if dtype == "bfloat16":
            array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype)
        variables[name] = array.reshape(shape)
    (num_aliases,) = take("I")
    aliases = dict(string_pair for string_pair in ((string(), string()) for _ in range(num_aliases)))
    return variables, aliases


def convert_ctranslate2(directory: str | os.PathLike) -> dict:
    """Convert a CTranslate2 Whisper directory to an openai-whisper checkpoint.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``model.bin`` and ``config.json`` (with ``alignment_heads``).

    Returns
    -------
    dict
        ``{"dims": dict, "model_state_dict": dict[str, torch.Tensor],
        "alignment_heads": torch.Tensor [shape=(n_heads, 2), dtype=int64]}``;
        ``whisper.model.Whisper(ModelDimensions(**dims)).load_state_dict(state, strict=True)``
        succeeds. Tensors keep the stored precision (float16 for the registry models).

    Raises
    ------
    ModelError
        If a tensor is missing, left over, or has an unexpected shape.
    """
    torch = require("torch")
    directory = Path(directory)
    variables, _ = read_ctranslate2(directory / "model.bin")
    config = json.loads((directory / "config.json").read_text())
    tensors = {name: array for name, array in variables.items() if array.ndim > 0}
    state: dict[str, np.ndarray] = {}

    def pop(name: str) -> np.ndarray:
        try:
            return tensors.pop(name)
        except KeyError:
            raise ModelError(f"{directory / 'model.bin'}: variable {name!r} is missing") from None

    for side in ("encoder", "decoder"):
        layers = sorted({int(m.group(1)) for m in (re.match(rf"{side}/layer_(\d+)/", n) for n in tensors) if m})
        for index in layers:
            source, target = f"{side}/layer_{index}", f"{side}.blocks.{index}"
            for ct2_name, openai_name in _LAYER_NORMS.items():
                if f"{source}/{ct2_name}/gamma" in tensors:
                    state[f"{target}.{openai_name}.weight"] = pop(f"{source}/{ct2_name}/gamma")
                    state[f"{target}.{openai_name}.bias"] = pop(f"{source}/{ct2_name}/beta")
            for ct2_name, openai_name in _LINEARS.items():
                state[f"{target}.{openai_name}.weight"] = pop(f"{source}/{ct2_name}/weight")
                state[f"{target}.{openai_name}.bias"] = pop(f"{source}/{ct2_name}/bias")
            # self-attention: q, k, v stacked by rows; the key has no bias in openai-whisper
            weight = pop(f"{source}/self_attention/linear_0/weight")
            bias = pop(f"{source}/self_attention/linear_0/bias")
            q_w, k_w, v_w = np.split(weight, 3)
            q_b, _, v_b = np.split(bias, 3)
            state.update(_attention(f"{target}.attn", q_w, q_b, k_w, v_w, v_b))
            state[f"{target}.attn.out.weight"] = pop(f"{source}/self_attention/linear_1/weight")
            state[f"{target}.attn.out.bias"] = pop(f"{source}/self_attention/linear_1/bias")
            if side == "decoder":
                # cross-attention: query alone, then key and value stacked by rows
                k_w, v_w = np.split(pop(f"{source}/attention/linear_1/weight"), 2)
                _, v_b = np.split(pop(f"{source}/attention/linear_1/bias"), 2)
                q_w = pop(f"{source}/attention/linear_0/weight")
                q_b = pop(f"{source}/attention/linear_0/bias")
                state.update(_attention(f"{target}.cross_attn", q_w, q_b, k_w, v_w, v_b))
                state[f"{target}.cross_attn.out.weight"] = pop(f"{source}/attention/linear_2/weight")
                state[f"{target}.cross_attn.out.bias"] = pop(f"{source}/attention/linear_2/bias")
    state["encoder.conv1.weight"] = pop("encoder/conv1/weight")
    state["encoder.conv1.bias"] = pop("encoder/conv1/bias")
    state["encoder.conv2.weight"] = pop("encoder/conv2/weight")
    state["encoder.conv2.bias"] = pop("encoder/conv2/bias")
    state["encoder.positional_embedding"] = pop("encoder/position_encodings/encodings")
    state["encoder.ln_post.weight"] = pop("encoder/layer_norm/gamma")
    state["encoder.ln_post.bias"] = pop("encoder/layer_norm/beta")
    state["decoder.token_embedding.weight"] = pop("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = pop("decoder/position_encodings/encodings")
    state["decoder.ln.weight"] = pop("decoder/layer_norm/gamma")
    state["decoder.ln.bias"] = pop("decoder/layer_norm/beta")
    if tensors:
        raise ModelError(f"{directory / 'model.bin'}: unexpected variables {sorted(tensors)[:5]}")

    n_audio_layer = sum(1 for name in state if name.endswith(".attn_ln.weight") and name.startswith("encoder."))
    n_text_layer = sum(1 for name in state if name.endswith(".attn_ln.weight") and name.startswith("decoder."))
    dims = {
        "n_mels": int(state["encoder.conv1.weight"].shape[1]),
        "n_audio_ctx": int(state["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(state["encoder.positional_embedding"].shape[1]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(state["decoder.token_embedding.weight"].shape[0]),
        "n_text_ctx": int(state["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(state["decoder.positional_embedding"].shape[1]),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    heads = config.get("alignment_heads")
    if not heads:
        raise ModelError(f"{directory / 'config.json'}: no alignment_heads; word timestamps need them")
    return {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.array(array)) for name, array in state.items()},
        "alignment_heads": torch.tensor(heads, dtype=torch.int64),
    }


def _attention(prefix: str, q_w: np.ndarray, q_b: np.ndarray, k_w: np.ndarray, v_w: np.ndarray,
               v_b: np.ndarray) -> dict[str, np.ndarray]:
    return {
        f"{prefix}.query.weight": q_w,
        f"{prefix}.query.bias": q_b,
        f"{prefix}.key.weight": k_w,
        f"{prefix}.value.weight": v_w,
        f"{prefix}.value.bias": v_b,
    }


def load_checkpoint(weights: WhisperWeights) -> dict:
    """The openai-whisper checkpoint of ``weights``, converted once and cached.

    A CTranslate2 source is converted to
    ``cache_dir()/whisper/<name>-<source sha256[:16]>.pt`` (written atomically,
    with a ``.sha256`` file beside it that is checked on every load); an
    openai ``.pt`` source is loaded as is. Both load with
    ``torch.load(weights_only=True)``.

    Parameters
    ----------
    weights : WhisperWeights
        From :func:`~audiokit.models.whisper.registry.resolve_model`.

    Returns
    -------
    dict
        ``{"dims", "model_state_dict", "alignment_heads"}`` (``alignment_heads``
        is None for an openai ``.pt`` without them).

    Raises
    ------
    ModelError
        If the cached file does not match its recorded sha256 or cannot be loaded,
        or if ``weights`` has neither a checkpoint nor a CTranslate2 directory.
    """
    torch = require("torch")
    if weights.checkpoint is not None:
        checkpoint = _torch_load(torch, weights.checkpoint)
        checkpoint.setdefault("alignment_heads", None)
        return checkpoint
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(weights.name).name or "model")
    path = cache_dir() / "whisper" / f"{safe_name}-{weights.spec.sha256[:16]}.pt"
    digest_path = path.with_suffix(".pt.sha256")
    if path.is_file() and digest_path.is_file():
        expected = digest_path.read_text().strip()
        if file_sha256(path) != expected:
            raise ModelError(
                f"{path}: sha256 differs from {digest_path}; delete both files to convert again"
            )
        return _torch_load(torch, path)
    if weights.ctranslate2_dir is None:
        raise ModelError(f"{weights.name}: names neither an openai checkpoint nor a CTranslate2 directory; "
                         "get the weights from resolve_model()")
    checkpoint = convert_ctranslate2(weights.ctranslate2_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        torch.save(checkpoint, temporary)
        write_atomically(digest_path, file_sha256(Path(temporary)) + "\n")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return checkpoint


def _torch_load(torch: Any, path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise ModelError(f"{path}: cannot load as a weights-only torch checkpoint ({error})") from error
    if not isinstance(checkpoint, dict) or not {"dims", "model_state_dict"} <= checkpoint.keys():
        raise ModelError(f"{path}: not an openai-whisper checkpoint (needs 'dims' and 'model_state_dict')")
    return checkpoint
