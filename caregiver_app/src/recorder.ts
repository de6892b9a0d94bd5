// Voice notes with MediaRecorder: one button that starts and stops a recording, for the
// caregiver's visit notes and the clinician's spoken advice alike. What becomes of a
// recording (kept for sync, or held until the answer is sent) is the caller's.
import { h } from "./dom";

export interface Recording {
  blob: Blob;
  contentType: string;
  seconds: number;
}

// The caller's wording, already translated.
export interface RecorderTexts {
  record: string;
  stop: string;
  recording: string;
  noMicrophone: string;
}

export interface RecorderOptions {
  id: string;
  status: HTMLElement;
  texts: RecorderTexts;
  onStart?: () => void;
  onRecorded: (rec: Recording) => void | Promise<void>;
}

export function canRecord(): boolean {
  return Boolean(navigator.mediaDevices?.getUserMedia) && typeof MediaRecorder !== "undefined";
}

export function recordButton(opts: RecorderOptions): HTMLButtonElement {
  let recorder: MediaRecorder | null = null;
  let started = 0;
  const button = h("button", { type: "button", class: "secondary", id: opts.id }, opts.texts.record) as HTMLButtonElement;
  button.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      opts.status.textContent = opts.texts.noMicrophone;
      return;
    }
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    const rec = new MediaRecorder(stream, type ? { mimeType: type } : {});
    recorder = rec;
    const chunks: Blob[] = [];
    rec.addEventListener("dataavailable", (ev) => chunks.push(ev.data));
    rec.addEventListener("stop", () => {
      for (const track of stream.getTracks()) track.stop();
      const contentType = (rec.mimeType || "audio/webm").split(";")[0];
      const blob = new Blob(chunks, { type: contentType });
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      recorder = null;
      void opts.onRecorded({ blob, contentType, seconds });
    });
    started = performance.now();
    rec.start();
    opts.onStart?.();
    button.textContent = opts.texts.stop;
    opts.status.textContent = opts.texts.recording;
  });
  return button;
}
