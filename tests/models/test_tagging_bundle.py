"""The TF tensor-bundle reader against bundles written here by the format's rules."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from audiokit.errors import FormatError
from audiokit.models.tagging._kernels import crc32c, crc32c_table
from audiokit.models.tagging.bundle import TABLE_MAGIC, read_bundle, read_index

_TF_DTYPES = {np.dtype("<f4"): 1, np.dtype("<i8"): 9, np.dtype("<f2"): 19, np.dtype("<i4"): 3}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire_type) + payload


def _masked_crc(data: bytes) -> int:
    crc = int(crc32c(np.frombuffer(data, np.uint8), crc32c_table()))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _entry_proto(dtype: int, shape: tuple, offset: int, size: int, crc: int) -> bytes:
    dims = b"".join(_field(2, 2, _varint(len(d)) + d) for d in (_field(1, 0, _varint(n)) for n in shape))
    return (_field(1, 0, _varint(dtype)) + _field(2, 2, _varint(len(dims)) + dims)
            + _field(4, 0, _varint(offset)) + _field(5, 0, _varint(size)) + _field(6, 5, struct.pack("<I", crc)))


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB block with prefix compression and a single restart point."""
    body, previous = bytearray(), b""
    for key, value in entries:
        shared = 0
        while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
            shared += 1
        body += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    return bytes(body) + struct.pack("<II", 0, 1)


def write_bundle(tensors: dict[str, np.ndarray]) -> tuple[bytes, bytes]:
    """(.index, .data) of a one-shard bundle, keys sorted as TensorFlow writes them."""
    data, entries = bytearray(), [(b"", _field(1, 0, _varint(1)))]  # BundleHeaderProto num_shards=1
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name]).tobytes()
        proto = _entry_proto(_TF_DTYPES[tensors[name].dtype], tensors[name].shape, len(data), len(raw), _masked_crc(raw))
        entries.append((name.encode(), proto))
        data += raw
    table = bytearray()
    data_block = _block(entries)
    table += data_block + b"\x00\x00\x00\x00\x00"
    index_handle = _varint(0) + _varint(len(data_block))
    index_offset = len(table)
    index_block = _block([(entries[-1][0] + b"\xff", index_handle)])
    table += index_block + b"\x00\x00\x00\x00\x00"
    meta_offset = len(table)
    meta_block = _block([])
    table += meta_block + b"\x00\x00\x00\x00\x00"
    handles = _varint(meta_offset) + _varint(len(meta_block)) + _varint(index_offset) + _varint(len(index_block))
    table += handles.ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(table), bytes(data)


@pytest.fixture
def tensors(rng) -> dict[str, np.ndarray]:
    return {
        "conv2d/kernel": rng.standard_normal((7, 38, 1, 4)).astype(np.float32),
        "conv2d/bias": rng.standard_normal(4).astype(np.float32),
        "batch_normalization/moving_mean": rng.standard_normal(1).astype(np.float32),
        "global_step": np.array(1234, np.int64),
        "half": rng.standard_normal((3, 5)).astype(np.float16),
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
    }


def test_round_trip_keeps_names_shapes_dtypes_and_values(tensors):
    index, data = write_bundle(tensors)
    read = read_bundle(index, [data])
    assert sorted(read) == sorted(tensors)
    for name, expected in tensors.items():
        assert read[name].dtype == expected.dtype and read[name].shape == expected.shape
        np.testing.assert_array_equal(read[name], expected)


def test_index_entries_point_into_the_shard(tensors):
    index, data = write_bundle(tensors)
    entries = read_index(index)
    assert entries["conv2d/kernel"].shape == (7, 38, 1, 4)
    assert entries["global_step"].shape == () and entries["global_step"].size == 8
    assert sum(entry.size for entry in entries.values()) == len(data)
    assert entries["half"].to_dict()["dtype"] == "float16"


def test_crc32c_matches_the_rfc_3720_check_value():
    # RFC 3720 B.4: CRC-32C of 32 zero bytes is 0x8A9136AA; of "123456789" 0xE3069283
    assert int(crc32c(np.zeros(32, np.uint8), crc32c_table())) == 0x8A9136AA
    assert int(crc32c(np.frombuffer(b"123456789", np.uint8), crc32c_table())) == 0xE3069283


def test_corrupt_data_fails_the_crc(tensors):
    index, data = write_bundle(tensors)
    corrupt = bytearray(data)
    corrupt[3] ^= 0xFF
    with pytest.raises(FormatError, match="CRC-32C"):
        read_bundle(index, [bytes(corrupt)])
    assert read_bundle(index, [bytes(corrupt)], verify=False)


def test_bad_magic_and_short_files_are_rejected(tensors):
    index, data = write_bundle(tensors)
    with pytest.raises(FormatError, match="magic"):
        read_index(index[:-1] + b"\x00")
    with pytest.raises(FormatError, match="48-byte footer"):
        read_index(b"\x00" * 10)


def test_truncated_shard_is_rejected(tensors):
    index, data = write_bundle(tensors)
    with pytest.raises(FormatError, match="-byte shard"):
        read_bundle(index, [data[:-8]])
    with pytest.raises(FormatError, match="shard"):
        read_bundle(index, [])
