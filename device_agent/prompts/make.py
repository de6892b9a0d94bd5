"""Makes the hub's audio prompts (device_agent/prompts/*.wav).

Thai speech with espeak-ng (`-v th`) when it is installed; otherwise a wordless chime per
prompt made here from sine tones (standard library only, nothing downloaded): a rising
three-note chime for "help is coming", two two-note chimes for "a responder is on the way".

    python -m device_agent.prompts.make [--tones]
"""

from __future__ import annotations

import argparse
import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

from device_agent.prompts import WORDS, prompt_path
from eldercare_protocol import Prompt

RATE = 8000  # telephone quality is plenty for a small speaker, and keeps the files small
# (frequency Hz, seconds) per note; 0 Hz is a rest.
CHIMES: dict[Prompt, list[tuple[float, float]]] = {
    Prompt.HELP_COMING: [(523.25, 0.3), (659.25, 0.3), (783.99, 0.6)],
    Prompt.RESPONDER_COMING: [
        (659.25, 0.25),
        (880.0, 0.4),
        (0, 0.25),
        (659.25, 0.25),
        (880.0, 0.4),
    ],
}


def _tone(frequency: float, seconds: float) -> list[int]:
    count = int(RATE * seconds)
    fade = int(RATE * 0.02)  # no clicks at the note's edges
    samples = []
    for i in range(count):
        envelope = min(1.0, i / fade, (count - i) / fade) if fade else 1.0
        value = math.sin(2 * math.pi * frequency * i / RATE) if frequency else 0.0
        samples.append(int(12000 * envelope * value))
    return samples


def write_chime(prompt: Prompt, path: Path) -> None:
    samples: list[int] = []
    for frequency, seconds in CHIMES[prompt]:
        samples += _tone(frequency, seconds)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def write_speech(prompt: Prompt, path: Path, espeak: str) -> bool:
    done = subprocess.run(  # noqa: S603 (a fixed argument list, our own words)
        [espeak, "-v", "th", "-s", "140", "-w", str(path), WORDS[prompt]],
        check=False,
        capture_output=True,
    )
    return done.returncode == 0 and path.exists() and path.stat().st_size > 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tones", action="store_true", help="chimes even if espeak-ng is here")
    args = parser.parse_args()
    espeak = None if args.tones else shutil.which("espeak-ng")
    for prompt in Prompt:
        path = prompt_path(prompt)
        if espeak and write_speech(prompt, path, espeak):
            print(f"{path.name}: Thai speech (espeak-ng): {WORDS[prompt]}")
            continue
        write_chime(prompt, path)
        print(f"{path.name}: chime ({'no espeak-ng here' if not espeak else 'espeak-ng failed'})")


if __name__ == "__main__":
    main()
