"""A small FLAC writer for tests: variable block sizes, which no common encoder writes.

Follows RFC 9639 (Free Lossless Audio Codec): the ``fLaC`` marker and a
STREAMINFO block (§8.2), then one frame per block (§9): a header with the
variable blocking strategy bit set and the number of the frame's first
sample UTF-8-coded (§9.1.5), closed by a CRC-8 (§9.1.8); one subframe per
channel, VERBATIM (§9.2.5.2) or FIXED with Rice-coded residuals (§9.2.5.3,
§9.2.7), with left/side stereo on some frames (§4.2); padding to a byte and
a CRC-16 footer (§9.3).

Usage (``tests/io`` is on ``sys.path`` for its tests)::

    from _flac_writer import write_variable_block_flac
    write_variable_block_flac(path, samples, 44100, block_sizes=(4096, 1152, 576, 17))

where ``samples`` is an int16 ``(channels, frames)`` array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

#: Frame header sample-rate codes (RFC 9639 §9.1.2); other rates use code 0 (the STREAMINFO rate).
_RATE_CODES = {88200: 0b0001, 176400: 0b0010, 192000: 0b0011, 8000: 0b0100, 16000: 0b0101, 22050: 0b0110,
               24000: 0b0111, 32000: 0b1000, 44100: 0b1001, 48000: 0b1010, 96000: 0b1011}
#: Frame header block-size codes with an implied size (RFC 9639 §9.1.1).
_BLOCK_CODES = {192: 0b0001, **{576 << n: 0b0010 + n for n in range(4)}, **{256 << n: 0b1000 + n for n in range(8)}}
#: FIXED predictor coefficients by order (RFC 9639 §9.2.5.3), newest sample first.
_FIXED = ((), (1,), (2, -1), (3, -3, 1), (4, -6, 4, -1))
_BITS = 16  # bits per sample written
_LEFT_SIDE = 0b1000  # channel assignment: left, then side = left - right (one more bit)


class _Bits:
    """Big-endian bit writer."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._value = 0
        self._count = 0

    def put(self, value: int, bits: int) -> None:
        self._value = (self._value << bits) | (value & ((1 << bits) - 1))
        self._count += bits
        while self._count >= 8:
            self._count -= 8
            self.data.append((self._value >> self._count) & 0xFF)
        self._value &= (1 << self._count) - 1

    def rice(self, value: int, parameter: int) -> None:
        folded = (value << 1) ^ (value >> 63)  # zigzag: 0, -1, 1, -2 -> 0, 1, 2, 3 (§9.2.7.2)
        quotient = folded >> parameter
        while quotient >= 32:
            self.put(0, 32)
            quotient -= 32
        self.put(1, quotient + 1)  # unary: quotient zeros, then a one
        self.put(folded, parameter)

    def pad(self) -> None:
        if self._count:
            self.put(0, 8 - self._count)


def _crc(data: bytes, polynomial: int, width: int) -> int:
    crc, top, mask = 0, 1 << (width - 1), (1 << width) - 1
    for byte in data:
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) & mask if crc & top else (crc << 1) & mask
    return crc


def _utf8_coded(number: int) -> bytes:
    """The "UTF-8" coding of a sample number up to 36 bits (RFC 9639 §9.1.5)."""
    if number < 0x80:
        return bytes([number])
    length = next(n for n in range(2, 8) if number < 1 << (5 * n + 1))
    tail = [0x80 | ((number >> (6 * i)) & 0x3F) for i in range(length - 2, -1, -1)]
    lead = ((0xFF00 >> length) & 0xFF) | (number >> (6 * (length - 1)))
    return bytes([lead, *tail])


def _subframe(bits: _Bits, samples: np.ndarray, sample_bits: int, order: int | None) -> None:
    """One subframe: VERBATIM when ``order`` is None, else FIXED of that order."""
    values = [int(v) for v in samples]
    if order is None or len(values) <= order:
        bits.put(0b0000010, 8)  # zero bit, type 000001, no wasted bits
        for value in values:
            bits.put(value, sample_bits)
        return
    bits.put((0b001000 | order) << 1, 8)
    for value in values[:order]:
        bits.put(value, sample_bits)
    residual = [values[n] - sum(c * values[n - 1 - i] for i, c in enumerate(_FIXED[order]))
                for n in range(order, len(values))]
    # Partition order 1 where the block splits evenly with room for the warm-up, else 0 (§9.2.7).
    partitions = 2 if len(values) % 2 == 0 and len(values) // 2 > order else 1
    bits.put(0b00, 2)  # 4-bit Rice parameters
    bits.put(partitions.bit_length() - 1, 4)
    size = len(values) // partitions
    start = 0
    for index in range(partitions):
        part = residual[start: start + size - (order if index == 0 else 0)]
        start += len(part)
        mean = sum(abs(r) for r in part) / max(len(part), 1)
        parameter = min(max(int(mean).bit_length() - 1, 0), 14)
        bits.put(parameter, 4)
        for value in part:
            bits.rice(value, parameter)


def _frame(block: np.ndarray, first_sample: int, sample_rate: int, number: int) -> bytes:
    channels, size = block.shape
    left_side = channels == 2 and number % 3 == 2
    header = _Bits()
    header.put(0b111111111111100, 15)
    header.put(1, 1)  # variable blocking strategy: the header holds a sample number
    block_code = _BLOCK_CODES.get(size, 0b0110 if size <= 256 else 0b0111)
    header.put(block_code, 4)
    header.put(_RATE_CODES.get(sample_rate, 0), 4)
    header.put(_LEFT_SIDE if left_side else channels - 1, 4)
    header.put(0b100, 3)  # 16 bits per sample
    header.put(0, 1)
    coded = header.data + _utf8_coded(first_sample)
    if block_code == 0b0110:
        coded += bytes([size - 1])
    elif block_code == 0b0111:
        coded += (size - 1).to_bytes(2, "big")
    coded += bytes([_crc(coded, 0x07, 8)])
    body = _Bits()
    rows = [block[0], block[0].astype(np.int64) - block[1]] if left_side else list(block)
    for channel, row in enumerate(rows):
        order = None if (number + channel) % 4 == 3 else (number + channel) % 5
        _subframe(body, row, _BITS + (1 if left_side and channel == 1 else 0), order)
    body.pad()
    frame = bytes(coded) + bytes(body.data)
    return frame + _crc(frame, 0x8005, 16).to_bytes(2, "big")


def _blocks(num_frames: int, block_sizes: Sequence[int]) -> Iterator[tuple[int, int]]:
    start, index = 0, 0
    while start < num_frames:
        size = min(block_sizes[index % len(block_sizes)], num_frames - start)
        yield start, size
        start, index = start + size, index + 1


def write_variable_block_flac(path: Path, samples: np.ndarray, sample_rate: int, *,
                              block_sizes: Sequence[int], declare_length: bool = True) -> Path:
    """Write int16 ``samples`` (channels, frames) as a variable-block-size FLAC; return the path.

    Blocks take the sizes of ``block_sizes`` in turn (16 to 65535; the last
    block is what remains). Without ``declare_length`` STREAMINFO's total
    samples is 0, "unknown" (RFC 9639 §8.2), as a streaming encoder leaves it.
    """
    assert samples.dtype == np.int16 and samples.ndim == 2 and 1 <= samples.shape[0] <= 8
    assert all(16 <= size <= 65535 for size in block_sizes)
    channels, num_frames = samples.shape
    frames = [_frame(samples[:, start: start + size], start, sample_rate, number)
              for number, (start, size) in enumerate(_blocks(num_frames, block_sizes))]
    sizes = [size for _, size in _blocks(num_frames, block_sizes)]
    info = _Bits()
    info.put(min(sizes[:-1] or sizes), 16)
    info.put(max(sizes), 16)
    info.put(min(map(len, frames)), 24)
    info.put(max(map(len, frames)), 24)
    info.put(sample_rate, 20)
    info.put(channels - 1, 3)
    info.put(_BITS - 1, 5)
    info.put(num_frames if declare_length else 0, 36)
    md5 = hashlib.md5(samples.T.astype("<i2").tobytes()).digest()  # interleaved, little-endian (§8.2)
    block_header = bytes([0x80]) + (34).to_bytes(3, "big")  # last metadata block, type 0, 34 bytes
    path = Path(path)
    path.write_bytes(b"fLaC" + block_header + bytes(info.data) + md5 + b"".join(frames))
    return path
