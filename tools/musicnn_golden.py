"""Regenerate tests/models/golden/musicnn_reference.npz from the original musicnn package.

The reference outputs come from Pons & Serra's own code (PyPI ``musicnn==0.1.0``,
TensorFlow), not from audiokit's torch port, so the parity test in
tests/models/test_tagging_models.py compares the port with an independent
implementation. Two steps, two interpreters:

1. ``clips`` runs in audiokit's environment and writes the parity clips as
   16 kHz mono float32 WAV files (musicnn's rate, so librosa does not resample
   and both implementations see the same samples)::

       .venv/bin/python tools/musicnn_golden.py clips /tmp/musicnn-clips

2. ``reference`` runs in an environment where musicnn imports (it pins
   ``numpy<1.17``, so Python 3.7 with ``tensorflow==1.15.5``; see
   docs/tagging.md, "Provenance of the reference outputs")::

       /tmp/musicnn-py37/bin/python tools/musicnn_golden.py reference /tmp/musicnn-clips \\
           tests/models/golden/musicnn_reference.npz

   It writes the npz and ``PROVENANCE.json`` beside it (package versions, Python,
   the command, the date).

musicnn's ``extractor()`` returns the first patch's penultimate layer for every
later patch (its feature loop unpacks ``backend_`` and stores the stale
``penultimate_``), so ``reference`` builds musicnn's graph with musicnn's own
``models.define_model`` and ``extractor.batch_data`` and runs all patches in one
session; it also runs ``extractor()`` itself and records that its taggram equals
this one. Extra audio files given with ``--extra`` (e.g. the clips in musicnn's
GitHub repository) are tagged and their top 10 recorded in PROVENANCE.json only;
``published`` (audiokit's environment) tags the same files with audiokit and
compares::

    .venv/bin/python tools/musicnn_golden.py published audio/*.mp3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
SAMPLE_RATE = 16000
#: How the environment that ran ``reference`` was made (pyenv's CPython 3.7; musicnn pins numpy<1.17,
#: which has no wheels for Python >= 3.8, and TensorFlow 1.15 needs protobuf <= 3.20).
ENVIRONMENT = ["python3.7 -m venv /tmp/musicnn-py37",
               "/tmp/musicnn-py37/bin/pip install musicnn==0.1.0 tensorflow==1.15.5",
               "/tmp/musicnn-py37/bin/pip install protobuf==3.20.3"]
CLIPS_COMMAND = ".venv/bin/python tools/musicnn_golden.py clips /tmp/musicnn-clips"


def write_clips(out_dir: Path) -> None:
    """Write every parity clip as ``NAME.wav`` (16 kHz mono float32) into ``out_dir``."""
    import soundfile

    sys.path.insert(0, str(REPO / "tests" / "models"))
    from test_tagging_models import parity_clips

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, samples in parity_clips().items():
        soundfile.write(str(out_dir / f"{name}.wav"), samples, SAMPLE_RATE, subtype="FLOAT")
        print(f"wrote {out_dir / (name + '.wav')}: {samples.size} frames")


def _run_graph(patches, model: str):
    """Run musicnn's graph on ``patches`` (P, 187, 96): sigmoid scores and the embedding, per patch."""
    import numpy as np
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, patches.shape[1], config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, model, len(labels))
        scores = tf.nn.sigmoid(outputs[0])
        # musicnn: the 200-unit dense layer after its batch norm; VGG: pool5 flattened NHWC
        embedding = outputs[-1] if "vgg" not in model else tf.compat.v1.layers.flatten(outputs[-1])
    session = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(session, os.path.dirname(models.__file__) + "/" + model + "/")
    values = session.run([scores, embedding], feed_dict={x: patches.astype(np.float32), is_training: False})
    session.close()
    return values[0].astype(np.float32), values[1].astype(np.float32), labels


def write_reference(clips_dir: Path, out_path: Path, extra: list[str]) -> None:
    """Run musicnn on every clip in ``clips_dir``; write ``out_path`` and PROVENANCE.json beside it."""
    import librosa
    import numpy as np
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn.extractor import batch_data, extractor

    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    values = {}
    checks = {}
    for model in MODELS:
        values[f"labels/{model[:3]}"] = np.array(config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS)
    for clip in sorted(clips_dir.glob("*.wav")):
        name = clip.stem
        patches, _ = batch_data(str(clip), n_frames, n_frames)
        values[f"{name}/patches"] = patches  # float32: numpy<1.17 promotes 10000 * float16 to float32
        for model in MODELS:
            scores, embedding, _ = _run_graph(patches, model)
            values[f"{name}/{model}/scores"] = scores
            values[f"{name}/{model}/embedding"] = embedding
            taggram, _, _ = extractor(str(clip), model=model, input_length=3, input_overlap=False,
                                      extract_features=True)
            checks[f"{name}/{model}"] = float(np.abs(np.asarray(taggram) - scores).max())
    np.savez_compressed(str(out_path), **values)
    published = {}
    for path in extra:
        for model in ("MTT_musicnn", "MSD_musicnn"):
            taggram, labels = extractor(path, model=model, input_length=3, input_overlap=False,
                                           extract_features=False)
            order = np.argsort(-np.asarray(taggram).mean(axis=0), kind="stable")[:10]
            published[f"{Path(path).name}/{model}"] = [labels[i] for i in order]

    def version(name: str) -> str:
        module = __import__(name)
        return getattr(module, "__version__", "unknown")

    import pkg_resources

    provenance = {
        "what": "outputs of the original musicnn package (Pons & Serra) on audiokit's parity clips",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": ENVIRONMENT,
        "clips_command": CLIPS_COMMAND,
        "command": " ".join([sys.executable, *sys.argv]),
        "python": platform.python_version(),
        "packages": {name: pkg_resources.get_distribution(name).version
                     for name in ("musicnn", "tensorflow", "numpy", "librosa", "resampy", "soundfile", "protobuf")},
        "tensorflow_runtime": tf.__version__,
        "numpy_runtime": version("numpy"),
        "platform": platform.platform(),
        "clips": {clip.stem: clip.stat().st_size for clip in sorted(clips_dir.glob("*.wav"))},
        "graph": "musicnn.models.define_model + musicnn.extractor.batch_data, all patches in one session",
        "extractor_taggram_max_abs_difference": checks,
        "top10_by_mean_score_on_extra_files": published,
    }
    (out_path.parent / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1) + "\n")
    print(f"wrote {out_path} and {out_path.parent / 'PROVENANCE.json'}")


def compare_published(files: list[str]) -> None:
    """Tag ``files`` with audiokit and compare each top 10 with musicnn's in PROVENANCE.json."""
    from audiokit.models import tag

    recorded = json.loads((REPO / "tests" / "models" / "golden" / "PROVENANCE.json").read_text())
    lists = recorded["top10_by_mean_score_on_extra_files"]
    for path in files:
        for result in tag(path, model=["MTT_musicnn", "MSD_musicnn"], top_k=10):
            ours = [label for label, _ in result.tags]
            theirs = lists[f"{Path(path).name}/{result.model}"]
            verdict = "same top 10, same order" if ours == theirs else f"differs: musicnn {theirs}"
            print(f"{Path(path).name} {result.model}: audiokit {ours}: {verdict}")


def main() -> None:
    """Parse the command line and run one step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    clips = commands.add_parser("clips", help="write the parity clips (audiokit's environment)")
    clips.add_argument("out_dir", type=Path)
    reference = commands.add_parser("reference", help="run musicnn on them (musicnn's environment)")
    reference.add_argument("clips_dir", type=Path)
    reference.add_argument("out_path", type=Path)
    reference.add_argument("--extra", nargs="*", default=[], help="more audio files: top 10 into PROVENANCE.json")
    published = commands.add_parser("published", help="audiokit's top 10 on the --extra files vs musicnn's")
    published.add_argument("files", nargs="+")
    args = parser.parse_args()
    if args.command == "clips":
        write_clips(args.out_dir)
    elif args.command == "published":
        compare_published(args.files)
    else:
        write_reference(args.clips_dir, args.out_path, args.extra)


if __name__ == "__main__":
    main()
