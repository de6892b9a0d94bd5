import { db, type Row } from "../db";
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";
import { amendWaiting, queue } from "../outbox";
import { go, state } from "../state";
import { elderName, section } from "./common";

export async function volunteerView(): Promise<HTMLElement> {
  const elders = (await db.elders.toArray()).sort((a, b) => elderName(a).localeCompare(elderName(b), "th"));
  const checkins = await db.checkins.toArray();
  const waiting = (await db.outbox.toArray()).filter((e) => e.type === "checkin");
  const last = (id: string): string | null => {
    const times = [...checkins.filter((c) => c.elder_id === id).map((c) => String(c.checked_at)),
      ...waiting.filter((e) => e.elder_id === id).map((e) => String(e.data.checked_at))];
    return times.sort().at(-1) ?? null;
  };
  const cards = elders.map((e) => {
    const when = last(e.id);
    const confirm = h("div", { class: "actions confirm", hidden: true });
    const checkin = async (well: boolean): Promise<void> => {
      const at = new Date().toISOString();
      await queue("checkin", { elder_id: e.id, seen_well: well, checked_at: at }, { elder_id: e.id });
      state.flash(`${elderName(e)}: ${t("volunteer.checked_in", { when: fmtDateTime(at) })}`);
      state.kick();
      state.render();
    };
    // Two taps: choose, then confirm (so a brushed button records nothing).
    const choose = (well: boolean) => () => {
      confirm.replaceChildren(
        h("button", { type: "button", class: well ? "primary big" : "warn big", "data-confirm": e.id, onclick: () => checkin(well) },
          `${t("volunteer.confirm")}: ${t(well ? "volunteer.seen_well" : "volunteer.not_well")}`),
        h("button", { type: "button", class: "secondary", onclick: () => { confirm.hidden = true; } }, t("volunteer.cancel")),
      );
      confirm.hidden = false;
    };
    return h("li", { class: "card volunteer-elder", "data-elder": e.id },
      h("h2", {}, elderName(e)),
      h("p", { class: "muted" }, String(e.community ?? ""), when ? ` · ${t("volunteer.last_checkin", { when: fmtDateTime(when) })}` : ""),
      e.phone ? h("a", { href: `tel:${String(e.phone)}`, class: "tel" }, String(e.phone)) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary big", "data-seen-well": e.id, onclick: choose(true) }, t("volunteer.seen_well")),
        h("button", { type: "button", class: "secondary", onclick: choose(false) }, t("volunteer.not_well")),
        h("a", { href: `#/contact/${e.id}`, class: "button secondary" }, t("elder.edit_contact"))),
      confirm);
  });
  return h("div", {}, h("h1", {}, t("volunteer.title")), h("ul", { class: "list plain" }, cards));
}

const CONTACT_FIELDS: { name: string; type: "text" | "tel" | "bool" | "area" }[] = [
  { name: "phone", type: "tel" },
  { name: "address", type: "area" },
  { name: "access_notes", type: "area" },
  { name: "lives_alone", type: "bool" },
  { name: "has_carer", type: "bool" },
];

export async function contactView(id: string): Promise<HTMLElement> {
  const e = await db.elders.get(id);
  if (!e) return h("p", {}, t("elder.none"));
  const inputs = CONTACT_FIELDS.map((f) => {
    const label = t(f.name === "phone" ? "elder.phone" : f.name === "address" ? "elder.address" : `elder.${f.name}`);
    if (f.type === "bool") return h("label", { class: "check" }, h("input", { type: "checkbox", name: f.name, checked: Boolean(e[f.name]) }), label);
    if (f.type === "area") return h("label", {}, label, h("textarea", { name: f.name, rows: 2 }, String(e[f.name] ?? "")));
    return h("label", {}, label, h("input", { type: f.type, name: f.name, value: String(e[f.name] ?? "") }));
  });
  const people = emergencyContacts((e.emergency_contacts as Row[] | null) ?? []);
  const form = h("form", { class: "stack", id: "contact-form" }, inputs, people.box, h("button", { type: "submit" }, t("contact.save"))) as HTMLFormElement;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const changes: Record<string, unknown> = {};
    for (const f of CONTACT_FIELDS) {
      const el = form.elements.namedItem(f.name) as HTMLInputElement | HTMLTextAreaElement;
      const value = f.type === "bool" ? (el as HTMLInputElement).checked : el.value.trim() || null;
      if (value !== (e[f.name] ?? (f.type === "bool" ? false : null))) changes[f.name] = value;
    }
    const contacts = people.read();
    if (JSON.stringify(contacts) !== JSON.stringify(people.initial)) changes.emergency_contacts = contacts;
    if (Object.keys(changes).length === 0) return;
    // One waiting edit per elder: a second change joins it rather than racing it.
    const pending = (await db.outbox.toArray()).find((o) => o.type === "elder_update" && o.target_id === id && o.state === "waiting");
    if (!pending || !(await amendWaiting(pending.id, changes))) {
      // What this tablet had before the edit: the care manager sees it beside both versions.
      const base = Object.fromEntries(Object.keys(changes).map((k) => [k, e[k] ?? null]));
      await queue("elder_update", changes, { target_id: id, base_version: Number(e.version), elder_id: id, base });
    }
    await db.elders.update(id, changes as Partial<Row>);
    state.flash(t("contact.saved"));
    go(state.session?.role === "volunteer" ? "#/" : `#/elder/${id}`);
    state.kick();
  });
  return h("div", {}, section(`${t("elder.edit_contact")}: ${elderName(e)}`, form));
}

type Person = { name: string; relation: string; phone: string; notify_on_alerts: boolean };

// The elder's emergency contacts, edited as a whole list (the server replaces the list).
// A row's name, relation and phone are required; a row left wholly empty is dropped.
function emergencyContacts(stored: Row[]): { box: HTMLElement; initial: Person[]; read: () => Person[] } {
  const initial: Person[] = stored.map((c) => ({
    name: String(c.name ?? ""), relation: String(c.relation ?? ""), phone: String(c.phone ?? ""), notify_on_alerts: c.notify_on_alerts !== false,
  }));
  const rows = h("ul", { class: "list", id: "emergency-contacts" });
  const add = (p: Person): void => {
    const text = (name: string, label: string, value: string, type = "text"): HTMLElement =>
      // Keyed by data-person, not name: the elder's own "phone" field is in the same form.
      h("label", {}, label, h("input", { type, value, "data-person": name }));
    const row: HTMLElement = h("li", { class: "person" },
      text("name", t("contact.name"), p.name),
      text("relation", t("contact.relation"), p.relation),
      text("phone", t("elder.phone"), p.phone, "tel"),
      h("label", { class: "check" }, h("input", { type: "checkbox", "data-person": "notify_on_alerts", checked: p.notify_on_alerts }), t("contact.notify")),
      h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, t("contact.remove")));
    for (const input of row.querySelectorAll<HTMLInputElement>("input:not([type=checkbox])")) {
      input.addEventListener("input", () => {
        const filled = [...row.querySelectorAll<HTMLInputElement>("input:not([type=checkbox])")].some((i) => i.value.trim());
        for (const other of row.querySelectorAll<HTMLInputElement>("input:not([type=checkbox])")) other.required = filled;
      });
      input.required = Boolean(p.name || p.phone || p.relation);
    }
    rows.append(row);
  };
  initial.forEach(add);
  const read = (): Person[] =>
    [...rows.querySelectorAll<HTMLElement>("li.person")]
      .map((row) => {
        const value = (key: string): string => (row.querySelector<HTMLInputElement>(`[data-person="${key}"]`)?.value ?? "").trim();
        const notify = row.querySelector<HTMLInputElement>('[data-person="notify_on_alerts"]')?.checked ?? true;
        return { name: value("name"), relation: value("relation"), phone: value("phone"), notify_on_alerts: notify };
      })
      .filter((p) => p.name || p.relation || p.phone);
  const box = h("fieldset", { class: "stack", id: "emergency-box" }, h("legend", {}, t("contact.emergency")), rows,
    h("button", { type: "button", class: "secondary", id: "add-contact", onclick: () => add({ name: "", relation: "", phone: "", notify_on_alerts: true }) }, t("contact.add")));
  return { box, initial, read };
}
