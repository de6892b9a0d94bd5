import { db, type OutboxEntry } from "../db";
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";
import { byUrgency } from "../sync";
import { priorityBadge } from "./common";

function summary(e: OutboxEntry): string {
  const d = e.data;
  if (e.type === "observation") {
    return ((d.readings as { code: string; value: number }[]) ?? []).map((r) => `${t(`code.${r.code}`)} ${r.value}`).join(" · ");
  }
  if (e.type === "checkin") return t(d.seen_well ? "volunteer.seen_well" : "volunteer.not_well");
  if (e.type === "elder_update") return Object.entries(d).map(([k, v]) => `${k}: ${String(v)}`).join(" · ");
  if (e.type === "voice_note") return `${String(d.duration_s ?? "")} s`;
  return "";
}

export async function outboxView(): Promise<HTMLElement> {
  const all = await db.outbox.toArray();
  const waiting = all.filter((e) => e.state === "waiting").sort(byUrgency);
  const rest = all.filter((e) => e.state !== "waiting").sort((a, b) => b.seq - a.seq);
  const elders = new Map((await db.elders.toArray()).map((e) => [e.id, e]));
  const item = (e: OutboxEntry): HTMLElement => {
    const elder = e.elder_id ? elders.get(e.elder_id) : undefined;
    const extra: (HTMLElement | null)[] = [];
    if (e.state === "refused") {
      extra.push(h("p", { class: "reason" }, t("outbox.reason", { message: e.message || e.reason || "" })), h("p", { class: "muted" }, t("outbox.kept")));
    }
    if (e.state === "conflict") {
      const server = e.server ?? null;
      extra.push(
        h("p", { class: "reason" }, e.message ?? ""),
        h("div", { class: "versions" },
          h("div", {}, h("strong", {}, t("outbox.mine")), h("pre", {}, JSON.stringify(e.data, null, 1))),
          server ? h("div", {}, h("strong", {}, t("outbox.server")), h("pre", {}, JSON.stringify(server, null, 1))) : null),
        h("p", {}, t("outbox.conflict_next")),
      );
    }
    return h("li", { class: `outbox-item state-${e.state}`, "data-id": e.id, "data-state": e.state, "data-type": e.type },
      h("div", {}, h("span", { class: `badge s-${e.state}` }, t(`outbox.state.${e.state}`)), " ",
        h("strong", {}, t(`type.${e.type}`)), e.priority ? [" ", priorityBadge(e.priority)] : null),
      h("div", {}, [elder ? [elder.first_name, elder.last_name].join(" ") : "", summary(e)].filter(Boolean).join(" · ")),
      h("div", { class: "muted" }, fmtDateTime(e.created_at)), extra);
  };
  return h("div", {}, h("h1", {}, t("outbox.title")),
    all.length === 0 ? h("p", {}, t("outbox.empty")) : h("ul", { class: "list plain", id: "outbox-list" }, [...waiting, ...rest].map(item)));
}
