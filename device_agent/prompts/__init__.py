"""The spoken prompts a hub ships: one WAV per `eldercare_protocol.Prompt`.

`python -m device_agent.prompts.make` (re)makes them: with espeak-ng's Thai voice where it is
installed, otherwise as short, wordless chimes, one pattern per prompt, so a hub built
without a Thai voice still tells the elder "something is happening" in a way they can learn.
A recorded voice can replace any file under the same name.
"""

from __future__ import annotations

from pathlib import Path

from eldercare_protocol import Prompt

PROMPTS_DIR = Path(__file__).parent

# What each prompt says (or stands for, when it is a chime).
WORDS: dict[Prompt, str] = {
    Prompt.HELP_COMING: "ได้รับแจ้งเหตุแล้ว เจ้าหน้าที่กำลังติดต่อกลับ",
    Prompt.RESPONDER_COMING: "เจ้าหน้าที่กำลังเดินทางไปหาท่าน",
}


def prompt_path(prompt: Prompt) -> Path:
    return PROMPTS_DIR / f"{prompt.value}.wav"
