# faster-whisper side of `hotline bench transcribe --peer`.
# Reads a JSON job from stdin: {"model": dir, "threads": n, "beam": n,
# "clips": [{"raw": path-to-f32le-16kHz, "language": "pl"}, ...]}.
# Writes {"load_secs", "clips": [{"text", "secs"}], "wall_secs",
# "peak_rss_bytes"} to stdout. Transcription time excludes model load,
# exactly as hotline measures itself.
import json
import resource
import sys
import time

import numpy as np
from faster_whisper import WhisperModel

job = json.load(sys.stdin)
t = time.perf_counter()
model = WhisperModel(job["model"], device="cpu", compute_type="int8", cpu_threads=job["threads"])
load_secs = time.perf_counter() - t
out = []
start = time.perf_counter()
for clip in job["clips"]:
    audio = np.fromfile(clip["raw"], dtype="<f4")
    t = time.perf_counter()
    segments, _ = model.transcribe(audio, language=clip["language"], beam_size=job["beam"])
    text = " ".join(s.text.strip() for s in segments)
    out.append({"text": text, "secs": time.perf_counter() - t})
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
json.dump({"load_secs": load_secs, "clips": out, "wall_secs": wall, "peak_rss_bytes": rss}, sys.stdout)
