"""Benchmark audiokit's resampler against soxr (HQ, VHQ) and scipy.signal.resample_poly.

Speed: the same 60 s stereo noise at 44.1 kHz -> 48 kHz and 48 kHz -> 44.1 kHz,
one thread, interleaved repeats. Quality: the worst spurious component (alias
or image) of a full-scale tone, and audiokit's measured filter response.

Run ``python benchmarks/bench_resample.py``; writes benchmarks/results/resample.json
(and resample.png when matplotlib is installed).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_variable] = "1"  # one thread for every contender

import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import soxr  # noqa: E402
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json  # noqa: E402

from audiokit.io.resample import _design_filter, resample  # noqa: E402

DURATION_S = 60.0
NUM_CHANNELS = 2
REPEATS = 5
RATE_PAIRS = ((44100, 48000), (48000, 44100))
# Ratios whose filter response is measured: two exact tables, one interpolated.
RESPONSE_PAIRS = ((44100, 48000), (48000, 44100), (44100, 7999))
PASSBAND_FRACTION = 0.90  # of the lower Nyquist frequency
ANALYSIS_WINDOW_BETA = 20.0  # Kaiser window, sidelobes far below the levels measured
FFT_SIZE = 1 << 21


def contenders(in_rate: int, out_rate: int, planar: np.ndarray) -> dict:
    """Callables resampling the same input; each gets its own native layout."""
    interleaved = np.ascontiguousarray(planar.T)  # soxr wants (frames, channels)
    divisor = np.gcd(in_rate, out_rate)
    up, down = out_rate // divisor, in_rate // divisor
    return {
        "audiokit": lambda: resample(planar, in_rate, out_rate),
        "soxr_hq": lambda: soxr.resample(interleaved, in_rate, out_rate, quality="HQ"),
        "soxr_vhq": lambda: soxr.resample(interleaved, in_rate, out_rate, quality="VHQ"),
        "scipy_resample_poly": lambda: scipy.signal.resample_poly(planar, up, down, axis=1),
    }


def worst_spurious_db(name: str, in_rate: int, out_rate: int) -> float:
    """Largest component other than the tone itself in contender ``name``'s output, dB re full scale.

    Decimating, the tone sits between the two Nyquists (it must vanish);
    interpolating, it sits at 0.9 of the input Nyquist (its images must vanish).
    """
    tone_hz = (out_rate + in_rate) / 4 if out_rate < in_rate else 0.45 * in_rate
    t = np.arange(2 * in_rate) / in_rate
    tone = np.sin(2 * np.pi * tone_hz * t).astype(np.float32)[np.newaxis]
    out = np.asarray(contenders(in_rate, out_rate, tone)[name](), np.float64).ravel()[out_rate // 2 : -out_rate // 2]
    window = scipy.signal.windows.kaiser(out.size, ANALYSIS_WINDOW_BETA)
    spectrum = 20 * np.log10(2 * np.abs(np.fft.rfft(out * window)) / window.sum() + 1e-20)
    if tone_hz < out_rate / 2:
        peak = round(tone_hz * (spectrum.size - 1) * 2 / out_rate)
        spectrum[peak - 12 : peak + 13] = -np.inf
    return float(spectrum.max())


def filter_response(in_rate: int, out_rate: int) -> dict:
    """Passband ripple and stopband attenuation of the kernel as tabulated (float32).

    With interpolated phases the response of the sampled prototype repeats
    every ``P`` cycles per input frame, weighted by sinc^2 (linear
    interpolation); the first four periods are searched.
    """
    spec = _design_filter(in_rate, out_rate)
    num_phases = spec.num_phases
    # The kernel h(m / P - K) interleaved back from its float32 phase rows.
    taps = spec.phases[:-1, ::-1].T.ravel().astype(np.float64) / num_phases
    response = np.abs(np.fft.fft(taps, FFT_SIZE))
    freqs = np.abs(np.fft.fftfreq(FFT_SIZE, 1.0 / num_phases))  # cycles per input frame
    nyquist = 0.5 * min(in_rate, out_rate) / in_rate
    passband = response[freqs <= PASSBAND_FRACTION * nyquist]
    stopband_peak = 0.0
    for period in range(1 if spec.exact else 4):
        absolute = freqs + period * num_phases
        weight = 1.0 if spec.exact else np.sinc(absolute / num_phases) ** 2
        stopband_peak = max(stopband_peak, float((response * weight)[absolute >= nyquist].max()))
    return {
        "up": spec.up,
        "down": spec.down,
        "phases": "exact" if spec.exact else f"{num_phases} per input frame, interpolated",
        "taps": 2 * spec.half_taps,
        "passband_ripple_db": float(20 * np.log10(passband.max() / passband.min())),
        "stopband_attenuation_db": float(-20 * np.log10(stopband_peak)),
    }


def in_band_error_db(in_rate: int, out_rate: int) -> float:
    """RMS error of a resampled 997 Hz, -6 dBFS tone against the exact sine, dB re the tone."""
    amplitude = 0.5
    t = np.arange(2 * in_rate) / in_rate
    out = resample(amplitude * np.sin(2 * np.pi * 997.0 * t), in_rate, out_rate)[0]
    exact = amplitude * np.sin(2 * np.pi * 997.0 * np.arange(out.size) / out_rate)
    error = (out - exact)[out_rate // 2 : -out_rate // 2]
    return float(20 * np.log10(np.sqrt(np.mean(error**2)) / (amplitude / np.sqrt(2))))


def plot(results: dict) -> None:
    """Bar chart of x-realtime per contender and direction, if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    figure, axis = plt.subplots(figsize=(7, 3.5))
    names = list(next(iter(results.values()))["summary"])
    width = 0.8 / len(results)
    for index, (label, result) in enumerate(results.items()):
        speeds = [result["summary"][name]["x_realtime"] for name in names]
        axis.bar(np.arange(len(names)) + index * width, speeds, width, label=label)
    axis.set_xticks(np.arange(len(names)) + width / 2, names)
    axis.set_ylabel("x realtime (60 s stereo, 1 thread)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / "resample.png", dpi=120)


def main() -> None:
    rng = np.random.default_rng(0)
    speed, quality = {}, {}
    for in_rate, out_rate in RATE_PAIRS:
        label = f"{in_rate}->{out_rate}"
        planar = rng.uniform(-0.5, 0.5, (NUM_CHANNELS, round(DURATION_S * in_rate)))
        planar = planar.astype(np.float32)
        runs = contenders(in_rate, out_rate, planar)
        start = time.perf_counter()
        runs["audiokit"]()  # first call: compiles, or loads numba's cache
        first_call_s = time.perf_counter() - start
        times = time_interleaved(runs, repeats=REPEATS)
        speed[label] = {
            "audiokit_first_call_s": first_call_s,
            "summary": summarize(times, audio_seconds=DURATION_S, subject="audiokit"),
        }
        quality[label] = {name: worst_spurious_db(name, in_rate, out_rate) for name in runs}
        for name, row in speed[label]["summary"].items():
            print(f"{label:>12} {name:>20} {row['median_s']:7.3f} s  "
                  f"{row['x_realtime']:7.0f}x realtime  "
                  f"audiokit speed-up {row.get('audiokit_speedup', 1.0):5.2f}  "
                  f"worst spurious {quality[label][name]:7.1f} dB")
    response = {f"{a}->{b}": filter_response(a, b) for a, b in RESPONSE_PAIRS}
    in_band = {f"{a}->{b}": in_band_error_db(a, b) for a, b in RESPONSE_PAIRS}
    for label, row in response.items():
        print(f"{label:>12} {row['phases']:>32} taps {row['taps']:4d}  ripple "
              f"{row['passband_ripple_db']:.2e} dB  stopband {row['stopband_attenuation_db']:.1f} dB  "
              f"in-band error {in_band[label]:.1f} dB")
    path = write_json("resample", {
        "versions": versions("scipy", "soxr"),
        "input": {"signal": "uniform noise, -6 dBFS peak", "duration_s": DURATION_S,
                  "num_channels": NUM_CHANNELS, "dtype": "float32", "threads": 1},
        "repeats": REPEATS,
        "speed": speed,
        "worst_spurious_db": quality,
        "audiokit_filter_response": response,
        "audiokit_in_band_error_db": in_band,
    })
    print(f"wrote {path}")
    plot(speed)


if __name__ == "__main__":
    main()
