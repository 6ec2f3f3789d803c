"""Numba kernels for the checkpoint reader: CRC-32C of tensor bytes."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["crc32c_table", "crc32c"]


def crc32c_table() -> np.ndarray:
    """The 256-entry table of the reflected Castagnoli polynomial 0x82F63B78."""
    table = np.zeros(256, np.uint32)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table[byte] = crc
    return table


@njit(cache=True)
def crc32c(data: np.ndarray, table: np.ndarray) -> np.uint32:  # pragma: no cover - compiled
    """CRC-32C (RFC 3720 appendix B.4) of a uint8 array, table-driven, one byte a step."""
    crc = np.uint32(0xFFFFFFFF)
    for i in range(data.shape[0]):
        crc = table[(crc ^ data[i]) & np.uint32(0xFF)] ^ (crc >> np.uint32(8))
    return crc ^ np.uint32(0xFFFFFFFF)
