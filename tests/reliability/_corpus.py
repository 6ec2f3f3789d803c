"""Real-world and hostile audio files, generated: each maker writes one file and returns its path.

Valid files are encoded with PyAV's bundled ffmpeg (the same library a user's
ffmpeg would be), libsndfile, or audiokit's own writer, from music-like notes
(tests/_signals.py) or real speech (alsa-utils' Front_Center.wav). Damaged
and hostile files are valid ones with header bytes patched, as the format
specifications lay them out. The reference length of a valid file is PyAV's
full decode (:func:`ffmpeg_decode_count`).
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile
from _signals import notes

SPEECH_WAV = Path("/usr/share/sounds/alsa/Front_Center.wav")


def music(sample_rate: int, duration_s: float, channels: int = 2, seed: int = 7) -> np.ndarray:
    """(channels, frames) float32 notes at -6 dBFS peak or so."""
    out = notes(sample_rate, duration_s, np.random.default_rng(seed))[:channels]
    return (0.5 * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def speech(sample_rate: int = 48000) -> np.ndarray:
    """Real speech ("Front center", alsa-utils), (1, frames) float32; synthetic notes if not installed."""
    if SPEECH_WAV.exists():
        data, rate = soundfile.read(SPEECH_WAV, dtype="float32", always_2d=True)
        if rate == sample_rate:
            return np.ascontiguousarray(data.T)
    return music(sample_rate, 1.5, channels=1)


def ffmpeg_encode(path: Path, codec: str, samples: np.ndarray, sample_rate: int, *, muxer: str | None = None,
                  options: dict | None = None, bitrate_bps: int = 128_000, layout: str | None = None) -> Path:
    """Encode with PyAV's ffmpeg as a user's ffmpeg would (frames of 1024, explicit timestamps)."""
    import av

    channels = samples.shape[0]
    with av.open(str(path), "w", format=muxer, options=options or {}) as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.layout = layout or {1: "mono", 2: "stereo"}[channels]
        stream.bit_rate = bitrate_bps
        if codec == "vorbis":  # ffmpeg's native Vorbis encoder is marked experimental
            stream.codec_context.options = {"strict": "experimental"}
        formats = [f.name for f in stream.codec_context.codec.audio_formats]
        sample_format = "fltp" if "fltp" in formats else formats[0]
        stream.format = sample_format
        for start in range(0, samples.shape[1], 1024):
            block = samples[:, start:start + 1024]
            if sample_format == "fltp":
                data = np.ascontiguousarray(block)
            else:  # s16 packed
                data = np.round(block.T.reshape(1, -1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=stream.layout.name)
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def ffmpeg_decode_count(path: Path) -> tuple[int, int]:
    """(frames, sample_rate) of ffmpeg's full decode of the first audio stream: the reference."""
    import av

    frames, rate = 0, 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            for frame in packet.decode():
                frames += frame.samples
                rate = frame.sample_rate
    return frames, rate


# --- valid files that audiokit once rejected or misread ---------------------------------------


def vorbis_multipage(folder: Path) -> Path:
    """Ogg Vorbis, 6 s of stereo notes at 44.1 kHz: many Ogg pages, a partial last one."""
    return ffmpeg_encode(folder / "multipage.ogg", "vorbis", music(44100, 6.0), 44100, muxer="ogg")


def vorbis_speech(folder: Path) -> Path:
    """Ogg Vorbis of real speech at 48 kHz (ffmpeg's Vorbis encoder takes stereo only)."""
    return ffmpeg_encode(folder / "speech.ogg", "vorbis", np.repeat(speech(), 2, axis=0), 48000, muxer="ogg")


def mp4_aac_without_edit_list(folder: Path) -> Path:
    """MP4 AAC with no edit list: the end is trimmed only in the sample table's last duration."""
    samples = music(44100, 3.37)
    return ffmpeg_encode(folder / "no-edit-list.m4a", "aac", samples, 44100, muxer="mp4",
                         options={"use_editlist": "0"})


def wma(folder: Path) -> Path:
    """WMA v2 in ASF: ffmpeg names its layout "2 channels" (the container has none)."""
    return ffmpeg_encode(folder / "stereo.wma", "wmav2", music(44100, 2.5), 44100, muxer="asf")


def gsm_wav(folder: Path) -> Path:
    """GSM 6.10 in WAV (libsndfile's GSM610 subtype, WAVE_FORMAT_GSM610), real speech at 8 kHz."""
    from audiokit.io.resample import resample

    path = folder / "gsm.wav"
    soundfile.write(path, resample(speech(), 48000, 8000)[0], 8000, subtype="GSM610", format="WAV")
    return path


def low_rate_wav(folder: Path, sample_rate: int) -> Path:
    """A plain 16-bit WAV at a rate below K-weighting's 8 kHz (1000 or 6000 Hz)."""
    path = folder / f"rate-{sample_rate}.wav"
    soundfile.write(path, music(sample_rate, 2.0, channels=1)[0] if sample_rate >= 2000
                    else 0.3 * np.sin(2 * np.pi * 50 * np.arange(2 * sample_rate) / sample_rate),
                    sample_rate, subtype="PCM_16")
    return path


def flac(folder: Path, name: str = "clean.flac", duration_s: float = 3.0) -> Path:
    """A stereo 16-bit FLAC at 44.1 kHz from audiokit's writer (libFLAC-compatible ffmpeg encoder)."""
    import audiokit

    return audiokit.write(folder / name, audiokit.Audio(music(44100, duration_s), 44100))


def _patch_streaminfo(path: Path, *, sample_rate: int | None = None, total_samples: int | None = None) -> Path:
    """Rewrite STREAMINFO's rate and/or total samples (FLAC format §STREAMINFO: bytes 18..25 of
    the file hold u20 rate, u3 channels-1, u5 bits-1, u36 total samples, big-endian)."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO must be the first block"
    (packed,) = struct.unpack(">Q", data[18:26])
    rate = packed >> 44 if sample_rate is None else sample_rate
    total = packed & ((1 << 36) - 1) if total_samples is None else total_samples
    packed = (rate << 44) | (packed & (((1 << 8) - 1) << 36)) | total
    data[18:26] = struct.pack(">Q", packed)
    path.write_bytes(bytes(data))
    return path


def flac_claiming_96k(folder: Path) -> Path:
    """A 44.1 kHz FLAC whose STREAMINFO says 96 kHz (frame headers keep 44.1 kHz)."""
    return _patch_streaminfo(flac(folder, "claims-96k.flac"), sample_rate=96000)


def flac_claiming_1000_samples(folder: Path) -> Path:
    """A FLAC of 132,300 frames whose STREAMINFO says 1,000."""
    return _patch_streaminfo(flac(folder, "claims-1000.flac"), total_samples=1000)


def flac_truncated(folder: Path) -> Path:
    """A FLAC cut to 40 % of its bytes: STREAMINFO still declares the full length."""
    path = flac(folder, "truncated.flac", duration_s=6.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 5])
    return path


def mp3(folder: Path, name: str = "clean.mp3", duration_s: float = 3.0, xing: bool = True) -> Path:
    """A stereo 128 kbit/s MP3 (libmp3lame), with or without its Xing/LAME header frame."""
    return ffmpeg_encode(folder / name, "libmp3lame", music(44100, duration_s), 44100, muxer="mp3",
                         options={} if xing else {"write_xing": "0"})


def _mp3_frame_bytes(header: bytes) -> int:
    """Length of an MPEG-1 Layer III frame from its 4-byte header (ISO/IEC 11172-3 §2.4.2.3)."""
    bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    rates = [44100, 48000, 32000]
    bitrate = bitrates[header[2] >> 4] * 1000
    rate = rates[(header[2] >> 2) & 3]
    return 144 * bitrate // rate + ((header[2] >> 1) & 1)


def mp3_vbri_truncated(folder: Path) -> Path:
    """An MP3 whose VBRI header (Fraunhofer) claims 222 s but that holds 0.44 s of frames."""
    source = mp3(folder, "source-no-xing.mp3", duration_s=2.0, xing=False).read_bytes()
    start = source.index(b"\xff\xfb")
    header = source[start:start + 4]
    length = _mp3_frame_bytes(header)
    vbri = bytearray(length)
    vbri[:4] = header
    claimed_frames = round(222 * 44100 / 1152)
    # VBRI at offset 36: id, u16 version 1, u16 delay, u16 quality, u32 bytes, u32 frames, u16 TOC
    # entries 0, u16 scale, u16 entry size, u16 frames per entry.
    vbri[36:62] = b"VBRI" + struct.pack(">HHHIIHHHH", 1, 1105, 75, claimed_frames * length, claimed_frames,
                                        0, 1, 2, 1)
    frames_kept = round(0.44 * 44100 / 1152)
    path = folder / "vbri-truncated.mp3"
    path.write_bytes(source[:start] + bytes(vbri) + source[start:start + frames_kept * length])
    return path


def mp3_truncated_xing(folder: Path) -> Path:
    """An MP3 whose Xing/LAME header declares 6 s, cut to a third."""
    data = mp3(folder, "xing-source.mp3", duration_s=6.0).read_bytes()
    path = folder / "xing-truncated.mp3"
    path.write_bytes(data[: len(data) // 3])
    return path


def random_named_mp3(folder: Path, size_bytes: int = 4 << 20, seed: int = 3) -> Path:
    """Random bytes named .mp3 (ffmpeg's MP3 prober accepts chance frame syncs)."""
    path = folder / f"random-{size_bytes >> 20}MB.mp3"
    generator = np.random.default_rng(seed)
    with path.open("wb") as handle:
        for _ in range(0, size_bytes, 1 << 20):
            handle.write(generator.bytes(min(1 << 20, size_bytes)))
    return path


def wav_cut_short(folder: Path) -> Path:
    """A 24-bit stereo WAV cut to half its bytes: the data chunk still declares the full length."""
    path = folder / "cut-short.wav"
    soundfile.write(path, music(44100, 2.0).T, 44100, subtype="PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def wav_streaming_header(folder: Path) -> Path:
    """A WAV whose RIFF and data sizes are 0xFFFFFFFF, as streaming recorders leave them (valid)."""
    path = folder / "streaming.wav"
    soundfile.write(path, music(44100, 2.0).T, 44100, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[4:8] = b"\xff\xff\xff\xff"
    start = data.index(b"data")
    data[start + 4:start + 8] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


# --- hostile headers ----------------------------------------------------------------------------


def wav_claiming_rate(folder: Path, sample_rate: int) -> Path:
    """An 88 KB 16-bit mono WAV whose fmt chunk claims ``sample_rate`` (RIFF WAVE fmt: u32 at byte 24,
    byte rate at 28)."""
    path = folder / f"claims-{sample_rate}.wav"
    soundfile.write(path, music(22050, 2.0, channels=1)[0], 22050, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"fmt "
    data[24:28] = struct.pack("<I", sample_rate)
    data[28:32] = struct.pack("<I", sample_rate * 2)
    path.write_bytes(bytes(data))
    return path


def flac_claiming_2_36_samples(folder: Path) -> Path:
    """A FLAC whose STREAMINFO claims 2**36 - 1 samples (the field's maximum)."""
    return _patch_streaminfo(flac(folder, "claims-2^36.flac", duration_s=1.0), total_samples=(1 << 36) - 1)


def mp4_huge_sample_table(folder: Path, samples: int = 85_000_000) -> Path:
    """A 25 KB M4A whose stsz and stts claim ``samples`` samples (ISO/IEC 14496-12 §8.7.3, §8.6.1.2)."""
    import audiokit

    path = audiokit.write(folder / "huge-table.m4a", audiokit.Audio(music(44100, 1.0), 44100),
                          bitrate_bps=128_000)
    data = bytearray(path.read_bytes())
    stsz = data.index(b"stsz")  # box type; payload: u32 version/flags, u32 sample_size, u32 count
    data[stsz + 8:stsz + 16] = struct.pack(">II", 1, samples)
    stts = data.index(b"stts")  # payload: u32 version/flags, u32 entries, (u32 count, u32 delta)...
    data[stts + 8:stts + 20] = struct.pack(">III", 1, samples, 1024)
    path.write_bytes(bytes(data))
    return path


#: Every case by name: valid files first, then damaged, then hostile.
CASES = {
    "Ogg Vorbis, 6 s music, many pages": vorbis_multipage,
    "Ogg Vorbis, real speech": vorbis_speech,
    "MP4 AAC without edit list": mp4_aac_without_edit_list,
    "WMA v2 (no channel layout)": wma,
    "GSM 6.10 WAV": gsm_wav,
    "WAV at 1000 Hz": lambda folder: low_rate_wav(folder, 1000),
    "WAV at 6000 Hz": lambda folder: low_rate_wav(folder, 6000),
    "FLAC, STREAMINFO says 96 kHz (really 44.1)": flac_claiming_96k,
    "FLAC, STREAMINFO says 1,000 samples": flac_claiming_1000_samples,
    "WAV with streaming (0xFFFFFFFF) sizes": wav_streaming_header,
    "FLAC cut to 40 %": flac_truncated,
    "WAV cut to half its bytes": wav_cut_short,
    "MP3 cut to a third (Xing/LAME header)": mp3_truncated_xing,
    "MP3 with VBRI header claiming 222 s, holding 0.44 s": mp3_vbri_truncated,
    "4 MB of random bytes named .mp3": random_named_mp3,
    "WAV claiming 1 GHz": lambda folder: wav_claiming_rate(folder, 10**9),
    "WAV claiming 100 MHz": lambda folder: wav_claiming_rate(folder, 10**8),
    "FLAC claiming 2^36 samples": flac_claiming_2_36_samples,
    "MP4 with an 85-million-entry sample table": mp4_huge_sample_table,
}
#: Cases ffmpeg itself should not be asked to decode (it allocates what the header claims).
NO_REFERENCE = {"MP4 with an 85-million-entry sample table"}
#: Valid files: audiokit must read them as ffmpeg's full decode does.
VALID = list(CASES)[:10]
#: Damaged or hostile files: audiokit must refuse them with a FormatError naming the file.
INVALID = list(CASES)[10:]
