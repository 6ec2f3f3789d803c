"""Reading AES69 SOFA files (netCDF-4 / HDF5) with h5py.

Supported: the ``SimpleFreeFieldHRIR`` convention of SOFA 1.0 and 2.x (AES69-2015,
AES69-2020/2022), ``DataType`` ``FIR``. Source positions may be spherical
(``degree, degree, metre``) or cartesian (``metre``); both are returned in SOFA's
spherical convention (azimuth counter-clockwise, 90° = left, elevation up).
``Data.Delay`` (samples, shape ``(1, R)`` or ``(M, R)``) is returned separately:
the IR of measurement ``m``, ear ``r`` is ``Data.IR[m, r]`` delayed by it.

Every problem with a file is a :class:`~audiokit.errors.FormatError` that names
the SOFA variable or attribute at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FormatError
from .interpolation import cartesian_to_spherical

if TYPE_CHECKING:
    import h5py

__all__ = ["SUPPORTED_CONVENTIONS", "SofaData", "read_sofa"]

#: SOFA conventions this reader accepts (``SOFAConventions`` global attribute).
SUPPORTED_CONVENTIONS = ("SimpleFreeFieldHRIR",)


@dataclass(frozen=True, eq=False)
class SofaData:
    """The parts of a SimpleFreeFieldHRIR file a renderer needs."""

    #: impulse responses, shape (measurements, 2, taps), float64, receiver 0 = left
    irs: np.ndarray
    #: per-measurement, per-ear broadband delay from Data.Delay, samples, shape (measurements, 2)
    delays_samples: np.ndarray
    #: sample rate of the IRs, Hz (Data.SamplingRate)
    sample_rate: int
    #: source directions, shape (measurements, 3): azimuth_deg, elevation_deg, distance_m
    positions: np.ndarray
    #: global attributes (Conventions, SOFAConventions, DatabaseName, ...), decoded to str
    attributes: dict

    def to_dict(self) -> dict:
        """A JSON-able summary (no arrays)."""
        return {
            "convention": self.attributes.get("SOFAConventions"),
            "convention_version": self.attributes.get("SOFAConventionsVersion"),
            "sofa_version": self.attributes.get("Version"),
            "num_measurements": int(self.irs.shape[0]),
            "num_receivers": int(self.irs.shape[1]),
            "num_taps": int(self.irs.shape[2]),
            "sample_rate": self.sample_rate,
            "azimuth_range_deg": [float(self.positions[:, 0].min()), float(self.positions[:, 0].max())],
            "elevation_range_deg": [float(self.positions[:, 1].min()), float(self.positions[:, 1].max())],
            "distance_range_m": [float(self.positions[:, 2].min()), float(self.positions[:, 2].max())],
            "database": self.attributes.get("DatabaseName"),
            "listener": self.attributes.get("ListenerShortName"),
        }


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SU" and value.size == 1:
        return _text(value.reshape(-1)[0])
    return str(value) if value is not None else ""


def _variable(file: h5py.Group, name: str, path: Path) -> np.ndarray:
    if name not in file:
        raise FormatError(f"{path}: SOFA variable '{name}' is missing")
    try:
        data = np.asarray(file[name][()], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise FormatError(f"{path}: SOFA variable '{name}' is not numeric ({error})") from None
    bad = np.argwhere(~np.isfinite(data))
    if len(bad):
        raise FormatError(
            f"{path}: SOFA variable '{name}' has a non-finite value at index {tuple(int(i) for i in bad[0])}"
        )
    return data


def read_sofa(path: str | os.PathLike[str]) -> SofaData:
    """Read a SimpleFreeFieldHRIR SOFA file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    SofaData
        ``irs`` has shape (measurements, 2, taps).

    Raises
    ------
    FormatError
        If the file is not HDF5, uses another convention, or a variable is
        missing, non-finite or has an inconsistent shape (the message names it).

    Examples
    --------
    >>> data = read_sofa("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
    >>> data.irs.shape, data.sample_rate
    ((710, 2, 512), 44100)
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such SOFA file")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"{path}: not a SOFA (netCDF-4/HDF5) file ({error})") from None
    with file:
        attributes = {key: _text(value) for key, value in file.attrs.items()
                      if not key.startswith("_")}
        if attributes.get("Conventions") != "SOFA":
            raise FormatError(
                f"{path}: global attribute 'Conventions' is {attributes.get('Conventions')!r}; "
                "expected 'SOFA'"
            )
        convention = attributes.get("SOFAConventions")
        if convention not in SUPPORTED_CONVENTIONS:
            raise FormatError(
                f"{path}: global attribute 'SOFAConventions' is {convention!r}; supported: "
                f"{', '.join(SUPPORTED_CONVENTIONS)}"
            )
        data_type = attributes.get("DataType", "FIR")
        if data_type != "FIR":
            raise FormatError(f"{path}: global attribute 'DataType' is {data_type!r}; expected 'FIR'")

        irs = _variable(file, "Data.IR", path)
        if irs.ndim != 3 or irs.shape[0] == 0 or irs.shape[2] == 0:
            raise FormatError(f"{path}: SOFA variable 'Data.IR' has shape {irs.shape}; expected (M, R, N)")
        m, receivers, _ = irs.shape
        if receivers != 2:
            raise FormatError(
                f"{path}: SOFA variable 'Data.IR' has {receivers} receivers (shape {irs.shape}); "
                "expected 2 (left, right)"
            )

        rate = _variable(file, "Data.SamplingRate", path).reshape(-1)
        if rate.size == 0 or not np.all(rate == rate[0]) or rate[0] <= 0 or not float(rate[0]).is_integer():
            raise FormatError(
                f"{path}: SOFA variable 'Data.SamplingRate' is {rate.tolist()}; expected one "
                "positive integer rate in Hz"
            )

        if "Data.Delay" in file:
            delay = _variable(file, "Data.Delay", path)
            if delay.ndim == 1:
                delay = delay[np.newaxis]
            if delay.shape not in ((1, 2), (m, 2)):
                raise FormatError(
                    f"{path}: SOFA variable 'Data.Delay' has shape {delay.shape}; expected (1, 2) or ({m}, 2)"
                )
            if np.any(delay < 0):
                raise FormatError(f"{path}: SOFA variable 'Data.Delay' has negative delays")
            delays = np.broadcast_to(delay, (m, 2)).copy()
        else:
            delays = np.zeros((m, 2))

        positions = _variable(file, "SourcePosition", path)
        if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] not in (1, m):
            raise FormatError(
                f"{path}: SOFA variable 'SourcePosition' has shape {positions.shape}; expected ({m}, 3)"
            )
        positions = np.broadcast_to(positions, (m, 3)).copy()
        kind = _text(file["SourcePosition"].attrs.get("Type", "spherical")).strip().lower()
        units = _text(file["SourcePosition"].attrs.get("Units", "")).lower()
        if kind == "cartesian":
            positions = cartesian_to_spherical(positions)
        elif kind == "spherical":
            if "rad" in units.split(",")[0]:
                positions[:, :2] = np.degrees(positions[:, :2])
            positions[:, 0] %= 360.0
        else:
            raise FormatError(
                f"{path}: attribute 'SourcePosition:Type' is {kind!r}; expected 'spherical' or 'cartesian'"
            )
        if np.any(np.abs(positions[:, 1]) > 90.0 + 1e-9):
            raise FormatError(f"{path}: SOFA variable 'SourcePosition' has elevations outside [-90, 90] degrees")

    return SofaData(
        irs=irs,
        delays_samples=delays,
        sample_rate=int(rate[0]),
        positions=positions,
        attributes=attributes,
    )
