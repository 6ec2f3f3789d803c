"""Peak memory of analyze() on a 5-minute track: the shared front end keeps one magnitude spectrogram, no more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "example.flac"
#: peak RSS growth during analyze(), as a multiple of the input's size (measured 1.03 for a 300 s
#: 44.1 kHz stereo track: its mono, the 22050 Hz mono and the (frames, 1025) float32 magnitude;
#: 2.23 when the front end also held librosa's complex STFT and a power spectrogram)
MAX_GROWTH = 1.5


def test_peak_memory_of_a_five_minute_analysis_stays_near_the_input_size():
    code = f"""
import resource, numpy as np, audiokit
from audiokit.analysis import analyze
clip = audiokit.read({str(EXAMPLE)!r})
samples = np.tile(clip.samples, (1, -(-300 * clip.sample_rate // clip.num_frames)))[:, : 300 * clip.sample_rate]
track = audiokit.Audio(np.ascontiguousarray(samples), clip.sample_rate)
analyze(audiokit.Audio(track.samples[:, : 5 * clip.sample_rate], clip.sample_rate), segment_method="energy")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
analyze(track, segment_method="energy")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print((after - before) / track.samples.nbytes)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    growth = float(result.stdout.strip().splitlines()[-1])
    assert growth <= MAX_GROWTH, f"analyze() grew the peak RSS by {growth:.2f}x the input's size"
