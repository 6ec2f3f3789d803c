"""Read TensorFlow tensor-bundle checkpoints without TensorFlow.

A TF1/TF2 checkpoint ``<prefix>.index`` + ``<prefix>.data-00000-of-0000N`` is a
*tensor bundle*. The ``.index`` file is an uncompressed LevelDB SSTable
(``table/format.cc``): data blocks of prefix-compressed key/value entries, an
index block pointing at them and a 48-byte footer ending in the magic number
``0xdb4775248b80fb57``. The empty key holds a ``BundleHeaderProto``; every other
key is a variable name whose value is a ``BundleEntryProto`` (dtype, shape,
shard id, byte offset and size in the ``.data`` shard, masked CRC-32C). Tensors
are stored raw, little-endian, C order.

Only the few protobuf fields needed are decoded, by hand: this module needs
numpy and numba (for the CRC), nothing from TensorFlow or protobuf.

Examples
--------
>>> import zipfile                                                   # doctest: +SKIP
>>> wheel = zipfile.ZipFile("musicnn-0.1.0-py3-none-any.whl")        # doctest: +SKIP
>>> tensors = read_bundle(wheel.read("musicnn/MTT_musicnn/.index"),  # doctest: +SKIP
...                       [wheel.read("musicnn/MTT_musicnn/.data-00000-of-00001")])
>>> tensors["dense_1/kernel"].shape                                  # doctest: +SKIP
(200, 50)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiokit.errors import FormatError

__all__ = ["TABLE_MAGIC", "TensorEntry", "read_index", "read_bundle"]

#: LevelDB table footer magic (``kTableMagicNumber``), little-endian fixed64
TABLE_MAGIC = 0xDB4775248B80FB57
#: footer: two BlockHandles padded to 40 bytes, then the 8-byte magic
_FOOTER_BYTES = 48
#: every block is followed by a 1-byte compression type and a 4-byte CRC
_BLOCK_TRAILER_BYTES = 5
#: ``tensorflow/core/framework/types.proto`` DataType -> numpy dtype (little-endian)
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}
#: ``crc32c::Mask`` delta (``tensorflow/core/lib/hash/crc32c.h``)
_CRC_MASK_DELTA = 0xA282EAD8


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in a bundle (a decoded ``BundleEntryProto``)."""

    #: variable name, e.g. "batch_normalization/gamma"
    name: str
    #: numpy dtype of the stored elements
    dtype: np.dtype
    #: tensor shape, () for scalars
    shape: tuple[int, ...]
    #: index of the ``.data`` shard holding the bytes
    shard_id: int
    #: byte offset of the tensor in its shard
    offset: int
    #: byte length of the tensor in its shard
    size: int
    #: masked CRC-32C of the tensor bytes as TensorFlow wrote it
    masked_crc32c: int

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "shape": list(self.shape),
            "shard_id": self.shard_id,
            "offset": self.offset,
            "size": self.size,
            "masked_crc32c": self.masked_crc32c,
        }


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    """Decode one base-128 varint; return (value, next position)."""
    value = shift = 0
    while True:
        if position >= len(buffer):
            raise FormatError("truncated varint in checkpoint index")
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _proto_fields(message: bytes) -> Iterator[tuple[int, Any]]:
    """Yield (field number, value) of a protobuf message: int for varint and fixed fields, bytes for length-delimited ones."""
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        field, wire_type = tag >> 3, tag & 7
        value: int | bytes
        if wire_type == 0:
            value, position = _varint(message, position)
        elif wire_type == 1:
            (value,) = struct.unpack_from("<Q", message, position)
            position += 8
        elif wire_type == 2:
            length, position = _varint(message, position)
            value = message[position : position + length]
            position += length
        elif wire_type == 5:
            (value,) = struct.unpack_from("<I", message, position)
            position += 4
        else:
            raise FormatError(f"unsupported protobuf wire type {wire_type} in checkpoint index")
        yield field, value


def _block_entries(table: bytes, offset: int, size: int) -> Iterator[tuple[bytes, bytes]]:
    """Yield (key, value) of one uncompressed LevelDB block (``table/block.cc``)."""
    if offset + size + _BLOCK_TRAILER_BYTES > len(table):
        raise FormatError(f"block at {offset} (+{size} bytes) runs past the end of the index")
    compression = table[offset + size]
    if compression != 0:
        raise FormatError(
            f"index block at {offset} uses compression type {compression}; tensor bundles "
            "are written uncompressed (type 0)"
        )
    block = table[offset : offset + size]
    (num_restarts,) = struct.unpack_from("<I", block, size - 4)
    end = size - 4 * (num_restarts + 1)
    position, key = 0, b""
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        value_length, position = _varint(block, position)
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        yield key, block[position : position + value_length]
        position += value_length


def _shape(message: bytes) -> tuple[int, ...]:
    """Decode a ``TensorShapeProto`` (field 2: repeated Dim with field 1: size)."""
    dims = []
    for field, value in _proto_fields(message):
        if field == 2:
            dims.append(next((v for f, v in _proto_fields(value) if f == 1), 0))
        elif field == 3 and value:
            raise FormatError("checkpoint tensor has unknown rank")
    return tuple(dims)


def _entry(name: str, message: bytes) -> TensorEntry:
    """Decode a ``BundleEntryProto`` (tensor_bundle.proto)."""
    fields: dict[str, Any] = {"dtype": 0, "shape": (), "shard_id": 0, "offset": 0, "size": 0, "crc": 0}
    for field, value in _proto_fields(message):
        if field == 1:
            fields["dtype"] = value
        elif field == 2:
            fields["shape"] = _shape(value)
        elif field == 3:
            fields["shard_id"] = value
        elif field == 4:
            fields["offset"] = value
        elif field == 5:
            fields["size"] = value
        elif field == 6:
            fields["crc"] = value
        elif field == 7:
            raise FormatError(f"tensor {name!r} is stored as slices; partitioned variables are not supported")
    if fields["dtype"] not in _DTYPES:
        raise FormatError(f"tensor {name!r} has TensorFlow DataType {fields['dtype']}, which is not supported")
    return TensorEntry(
        name=name,
        dtype=_DTYPES[fields["dtype"]],
        shape=fields["shape"],
        shard_id=fields["shard_id"],
        offset=fields["offset"],
        size=fields["size"],
        masked_crc32c=fields["crc"],
    )


def read_index(index: bytes) -> dict[str, TensorEntry]:
    """Decode a tensor bundle's ``.index`` file.

    Parameters
    ----------
    index : bytes
        The whole ``.index`` file.

    Returns
    -------
    dict[str, TensorEntry]
        One entry per variable, in key order.

    Raises
    ------
    FormatError
        If the footer magic is wrong, a block is compressed or truncated, or an
        entry uses slices or an unsupported dtype.
    """
    if len(index) < _FOOTER_BYTES:
        raise FormatError(f"checkpoint index is {len(index)} bytes; a LevelDB table has a 48-byte footer")
    footer = index[-_FOOTER_BYTES:]
    (magic,) = struct.unpack_from("<Q", footer, 40)
    if magic != TABLE_MAGIC:
        raise FormatError(
            f"checkpoint index footer magic is {magic:#x}; expected {TABLE_MAGIC:#x} "
            "(is this a TensorFlow .index file?)"
        )
    _, position = _varint(footer, 0)  # metaindex offset (unused: bundles have no meta blocks)
    _, position = _varint(footer, position)
    index_offset, position = _varint(footer, position)
    index_size, _ = _varint(footer, position)
    entries = {}
    for _, handle in _block_entries(index, index_offset, index_size):
        block_offset, position = _varint(handle, 0)
        block_size, _ = _varint(handle, position)
        for key, value in _block_entries(index, block_offset, block_size):
            if key:  # the empty key is the BundleHeaderProto
                name = key.decode("utf-8")
                entries[name] = _entry(name, value)
    return entries


def _masked_crc32c(data: np.ndarray) -> int:
    from ._kernels import crc32c, crc32c_table

    crc = int(crc32c(data, crc32c_table()))
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def read_bundle(index: bytes, shards: list[bytes], *, verify: bool = True) -> dict[str, np.ndarray]:
    """Read every tensor of a bundle checkpoint.

    Parameters
    ----------
    index : bytes
        The ``.index`` file.
    shards : list of bytes
        The ``.data-0000k-of-0000N`` files, in shard order.
    verify : bool
        Check each tensor's bytes against the CRC-32C stored in the index.

    Returns
    -------
    dict[str, np.ndarray]
        Tensors by variable name, native-endian copies with the stored shapes
        (TF layouts: conv kernels ``(kh, kw, in, out)``, dense ``(in, out)``).

    Raises
    ------
    FormatError
        On a malformed index, an entry outside its shard, or a CRC mismatch.
    """
    tensors = {}
    for name, entry in read_index(index).items():
        if entry.shard_id >= len(shards):
            raise FormatError(f"tensor {name!r} is in shard {entry.shard_id}; only {len(shards)} shard(s) given")
        shard = shards[entry.shard_id]
        expected = int(np.prod(entry.shape, dtype=np.int64)) * entry.dtype.itemsize
        if entry.size != expected or entry.offset + entry.size > len(shard):
            raise FormatError(
                f"tensor {name!r} claims bytes {entry.offset}..{entry.offset + entry.size} for shape "
                f"{entry.shape} {entry.dtype.name} ({expected} bytes) in a {len(shard)}-byte shard"
            )
        raw = np.frombuffer(shard, np.uint8, count=entry.size, offset=entry.offset)
        if verify and _masked_crc32c(raw) != entry.masked_crc32c:
            raise FormatError(f"tensor {name!r} fails its CRC-32C check: the .data shard is corrupt")
        tensors[name] = raw.view(entry.dtype).astype(entry.dtype.newbyteorder("="), copy=True).reshape(entry.shape)
    return tensors
