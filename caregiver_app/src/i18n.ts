// Texts: the app's own (strings.json, Thai and English, bundled so they work offline) and
// the server's triage reasons (exported from the server catalogue at build time).
import SERVER from "../generated/server-texts.json";
import MANAGER from "./manager/strings.json";
import STRINGS from "./strings.json";

export type Locale = "th" | "en";
const KEY = "eldercare.locale";

export function locale(): Locale {
  if (typeof localStorage === "undefined") return "th"; // in the service worker
  return localStorage.getItem(KEY) === "en" ? "en" : "th";
}

export function setLocale(value: Locale): void {
  localStorage.setItem(KEY, value);
  document.documentElement.lang = value;
}

export function t(key: string, params: Record<string, string | number> = {}): string {
  const loc = locale();
  const text =
    (STRINGS[loc] as Record<string, string>)[key] ??
    (MANAGER[loc] as Record<string, string>)[key] ??
    (SERVER[loc] as Record<string, string>)[key] ??
    (STRINGS.en as Record<string, string>)[key] ??
    key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

const ZONE = "Asia/Bangkok";

// Thai dates are in the Buddhist Era (th-TH's calendar is buddhist: 2026 -> 2569).
// A formatter is costly to make and lists of hundreds of rows format a date each: one per
// locale and style, made once.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(style: "date" | "datetime"): Intl.DateTimeFormat {
  const loc = locale() === "th" ? "th-TH-u-ca-buddhist" : "en-GB";
  const key = `${loc}|${style}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(loc, style === "date"
      ? { day: "numeric", month: "short", year: "numeric", timeZone: ZONE }
      : { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: ZONE });
    formatters.set(key, f);
  }
  return f;
}

export function fmtDate(iso: string | Date): string {
  return formatter("date").format(typeof iso === "string" ? new Date(iso) : iso);
}

export function fmtDateTime(iso: string | Date): string {
  return formatter("datetime").format(typeof iso === "string" ? new Date(iso) : iso);
}
