// A voice recorder (MediaRecorder) for the clinician's spoken advice: record, listen back,
// record again; the blob is kept until the answer is sent.
import { h } from "../dom";
import { t } from "../i18n";

export interface Recording {
  blob: Blob;
  contentType: string;
  seconds: number;
}

export function recorderPanel(onChange: (rec: Recording | null) => void): HTMLElement {
  const box = h("div", { class: "voice", id: "advice-voice" });
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
    box.append(h("p", {}, t("consult.no_microphone")));
    return box;
  }
  const status = h("p", { "aria-live": "polite", id: "advice-voice-status" });
  const preview = h("div", {});
  let recorder: MediaRecorder | null = null;
  let started = 0;
  const button = h("button", { type: "button", class: "secondary", id: "advice-record" }, t("consult.record")) as HTMLButtonElement;
  button.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      status.textContent = t("consult.no_microphone");
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
      button.textContent = t("consult.record_again");
      status.textContent = t("consult.voice_ready", { seconds });
      preview.replaceChildren(h("audio", { controls: true, src: URL.createObjectURL(blob), id: "advice-preview", "aria-label": t("consult.voice_preview") }));
      onChange({ blob, contentType, seconds });
    });
    started = performance.now();
    rec.start();
    onChange(null);
    button.textContent = t("consult.stop");
    status.textContent = t("consult.recording");
  });
  box.append(button, status, preview);
  return box;
}
