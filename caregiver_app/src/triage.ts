// Triage in the browser: the same rule set as the server's `triage/` package. Every threshold
// comes from generated/triage-rules.json, exported from triage.RULE_SET at build time; this
// file holds only the order in which the rules are applied (as triage/vitals.py does).
// Decision support only: it helps a caregiver decide what to do first.
import RULES from "../generated/triage-rules.json";

export type Priority = "RED" | "YELLOW" | "GREEN" | "WHITE";
export interface Reason {
  key: string;
  params: Record<string, string | number>;
}
export interface Overrides {
  spo2_scale?: 1 | 2 | null;
  spo2_target?: { low: number; high: number } | null;
  bp_target?: { systolic_max: number; diastolic_max: number } | null;
  glucose_target?: { low: number; high: number } | null;
}
export interface Assessment {
  priority: Priority | null;
  reasons: Reason[];
  rejected: Record<string, string>;
  news2: { total: number; band: string; partial: boolean };
  rule_set_version: string;
}
interface Ladder {
  steps: [number, number][];
  above: number;
  resolution: number;
}

export const RULE_SET_VERSION: string = RULES.version;
const RANK: Record<Priority, number> = { RED: 0, YELLOW: 1, GREEN: 2, WHITE: 3 };

export function priorityRank(p: Priority | null | undefined): number {
  return p ? RANK[p] : 4;
}

function mostUrgent(ps: (Priority | null)[]): Priority | null {
  let best: Priority | null = null;
  for (const p of ps) if (priorityRank(p) < priorityRank(best)) best = p;
  return best;
}

/** Round half up at the chart's resolution on the shortest decimal form of the number (the
 * digits a person reads), as the server does with Decimal(repr(value)). */
export function roundHalfUp(value: number, resolution: number): number {
  const r = String(resolution);
  const places = r.includes(".") ? r.length - r.indexOf(".") - 1 : 0;
  const shortest = String(Math.abs(value));
  if (shortest.includes("e")) return Math.round(value * 10 ** places) / 10 ** places;
  const [whole, frac = ""] = shortest.split(".");
  const kept = Number(whole + frac.padEnd(places, "0").slice(0, places));
  const next = frac.slice(places, places + 1);
  const n = kept + (next !== "" && Number(next) >= 5 ? 1 : 0);
  const out = n / 10 ** places;
  return value < 0 ? -out : out;
}

function points(ladder: Ladder, value: number): number {
  const rounded = roundHalfUp(value, ladder.resolution);
  for (const [upper, pts] of ladder.steps) if (rounded <= upper) return pts;
  return ladder.above;
}

function display(value: number): number {
  return value;
}

function reason(key: string, params: Record<string, string | number> = {}): Reason {
  return { key, params };
}

class Implausible extends Error {}

export function checkReading(code: string, value: unknown): number {
  if (typeof value !== "number") throw new Implausible(`${code}: expected a number, got ${String(value)}`);
  if (!Number.isFinite(value)) throw new Implausible(`${code}: ${value} is not a finite number`);
  const range = (RULES.plausible as Record<string, { low: number; high: number; unit: string }>)[code];
  if (!(range.low <= value && value <= range.high)) {
    throw new Implausible(
      `${code}: ${value} ${range.unit} is outside the plausible range ${range.low}-${range.high} ${range.unit}`,
    );
  }
  return value;
}

interface BpBand {
  category: string;
  systolic_min: number;
  diastolic_min: number | null;
}
const BP_SHARED = ["crisis", "crisis_with_symptoms", "hypotension"];

// The deployment's blood-pressure set (Thai guideline or AHA/ACC), as triage/bp.py applies it.
function bpCategory(s: number, d: number): string {
  const r = RULES.blood_pressure;
  if (s >= r.crisis_systolic_min || d >= r.crisis_diastolic_min) return "crisis";
  if (s <= r.hypotension_systolic_max) return "hypotension";
  for (const band of r.bands as BpBand[]) {
    if (s >= band.systolic_min || (band.diastolic_min !== null && d >= band.diastolic_min)) {
      const isolated = r.isolated_systolic_below as number | null;
      if (isolated !== null && band.category.startsWith("grade_") && d < isolated) return "isolated_systolic";
      return band.category;
    }
  }
  return r.below_bands;
}

function bp(sys: number, dia: number, ov: Overrides | null): [Priority | null, Reason[]] {
  const r = RULES.blood_pressure;
  const s = roundHalfUp(sys, r.resolution);
  const d = roundHalfUp(dia, r.resolution);
  const category = bpCategory(s, d);
  let priority = (r.category_priority as Record<string, Priority | null>)[category];
  let first: Reason;
  if (BP_SHARED.includes(category)) first = reason(`triage.bp.${category}`, { systolic: s, diastolic: d });
  else if (category === "isolated_systolic") {
    const grades = (r.bands as BpBand[]).filter((b) => b.category.startsWith("grade_"));
    const hit = grades.find((b) => s >= b.systolic_min);
    const grade = hit ? Number(hit.category.slice("grade_".length)) : 1;
    first = reason(`${r.reason_prefix}${category}`, { systolic: s, diastolic: d, grade });
  } else first = reason(`${r.reason_prefix}${category}`, { systolic: s, diastolic: d });
  const reasons = [first];
  if (category === "crisis") reasons.push(reason("triage.bp.remeasure", { minutes: r.remeasure_after_minutes }));
  if (category === "crisis") reasons.push(reason("triage.bp.symptoms_call_1669"));
  reasons.push(reason(`triage.bp.rule_set.${r.name}`));
  const target = ov?.bp_target;
  if (target) {
    let outcome: string;
    if (r.target_cannot_lower.includes(category)) outcome = "urgent";
    else if (s <= target.systolic_max && d <= target.diastolic_max) {
      outcome = "within";
      priority = null;
    } else {
      outcome = "outside";
      priority = "GREEN";
    }
    reasons.push(
      reason(`triage.override.bp_target.${outcome}`, {
        systolic_max: target.systolic_max,
        diastolic_max: target.diastolic_max,
      }),
    );
  }
  return [priority, reasons];
}

function glucose(value: number, ov: Overrides | null, altered: boolean): [Priority | null, Reason[]] {
  const r = RULES.glucose;
  const mg = roundHalfUp(value, r.resolution);
  let low = r.default_target_low;
  let high = r.default_target_high;
  const target = ov?.glucose_target;
  if (target) {
    low = target.low;
    high = target.high;
  }
  let category: string;
  if (mg < r.level_1_below) category = altered ? "hypo_level_3" : mg < r.level_2_below ? "hypo_level_2" : "hypo_level_1";
  else if (mg > r.emergency_above) category = "high_emergency";
  else if (mg > r.urgent_above) category = "high_urgent";
  else if (mg < low) category = "below_target";
  else if (mg > high) category = "above_target";
  else category = "in_range";
  const reasons = [reason(`triage.glucose.${category}`, { value_mg_dl: display(mg) })];
  if (category.startsWith("hypo_")) reasons.push(reason("triage.glucose.hypo_treat"));
  if (target) reasons.push(reason("triage.override.glucose_target", { low, high }));
  return [(r.category_priority as Record<string, Priority | null>)[category], reasons];
}

function spo2Points(value: number, scale: number, onOxygen: boolean): number {
  const n = RULES.news2;
  if (scale === 1) return points(n.spo2_scale_1 as Ladder, value);
  return points((onOxygen ? n.spo2_scale_2_oxygen : n.spo2_scale_2_air) as Ladder, value);
}

function spo2(value: number, scaleIn: number, onOxygen: boolean, ov: Overrides | null): [Priority | null, Reason[]] {
  const r = RULES.spo2;
  const reasons: Reason[] = [];
  let scale = scaleIn;
  if (ov?.spo2_scale) {
    scale = ov.spo2_scale;
    reasons.push(reason("triage.override.spo2_scale", { scale }));
  }
  const pts = spo2Points(value, scale, onOxygen);
  const rounded = roundHalfUp(value, (RULES.news2.spo2_scale_1 as Ladder).resolution);
  const highSide = scale === 2 && onOxygen && rounded > r.scale_2_target_high;
  const critical = (r.critical_at_or_below as Record<string, number>)[String(scale)];
  let category: string;
  if (rounded <= critical) category = "critical";
  else if (pts === 0) category = "normal";
  else if (highSide) category = pts >= 3 ? "very_high_on_oxygen" : "high_on_oxygen";
  else category = pts >= 3 ? "very_low" : "low";
  let priority = (r.category_priority as Record<string, Priority | null>)[category];
  const target = ov?.spo2_target;
  if (target) {
    let outcome: string;
    if (priority === "RED" || priority === "YELLOW") outcome = "urgent";
    else if (value < target.low || (onOxygen && value > target.high)) {
      outcome = "outside";
      priority = "GREEN";
    } else {
      outcome = "within";
      priority = null;
    }
    reasons.push(reason(`triage.override.spo2_target.${outcome}`, { low: target.low, high: target.high }));
  }
  reasons.unshift(reason(`triage.spo2.${category}`, { spo2: display(value), scale }));
  if (onOxygen) reasons.push(reason("triage.spo2.on_oxygen"));
  return [priority, reasons];
}

function news2(
  given: Record<string, number>,
  scale: number,
  onOxygen: boolean,
  consciousness: string | null,
): { total: number; band: string; partial: boolean; priority: Priority | null; reasons: Reason[] } {
  const n = RULES.news2;
  const sub: Record<string, number> = {};
  if ("respiration_rate" in given) sub.respiration_rate = points(n.respiration_rate as Ladder, given.respiration_rate);
  if ("spo2" in given) sub.spo2 = spo2Points(given.spo2, scale, onOxygen);
  sub.air_or_oxygen = onOxygen ? n.oxygen_points : n.air_points;
  if ("systolic" in given) sub.systolic = points(n.systolic as Ladder, given.systolic);
  if ("pulse" in given) sub.pulse = points(n.pulse as Ladder, given.pulse);
  if (consciousness !== null) sub.consciousness = consciousness === "alert" ? n.alert_points : n.not_alert_points;
  if ("temperature" in given) sub.temperature = points(n.temperature as Ladder, given.temperature);
  const names = RULES.news2_parameters.filter((p) => p in sub);
  const missing = RULES.news2_parameters.filter((p) => !(p in sub));
  const total = names.reduce((acc, p) => acc + sub[p], 0);
  let band: string;
  if (total >= n.high_min) band = "high";
  else if (total >= n.medium_min) band = "medium";
  else if (names.some((p) => sub[p] >= n.single_parameter_trigger)) band = "low-medium";
  else if (total >= n.low_min) band = "low";
  else band = "none";
  const partial = missing.length > 0;
  const bandKey = band.replace("-", "_");
  const reasons: Reason[] = [];
  if (partial) {
    reasons.push(
      reason(`triage.news2.partial.${bandKey}`, {
        total,
        present_count: names.length,
        parameter_count: RULES.news2_parameters.length,
        missing_count: missing.length,
      }),
    );
  } else reasons.push(reason(`triage.news2.full.${bandKey}`, { total }));
  for (const p of names) {
    if (sub[p] >= n.single_parameter_trigger) {
      if (p === "consciousness") reasons.push(reason("triage.news2.single_parameter.consciousness"));
      else reasons.push(reason(`triage.news2.single_parameter.${p}`, { value: display(given[p]) }));
    }
  }
  for (const p of missing) reasons.push(reason(`triage.news2.missing.${p}`));
  if (scale === 2) reasons.push(reason("triage.news2.scale_2"));
  reasons.push(reason("triage.news2.not_validated_remote"));
  const priority = (n.band_priority as Record<string, Priority | null>)[band];
  return { total, band, partial, priority, reasons };
}

/** Judge one set of readings (codes as on the wire; glucose in mg/dL), as assess_vitals does. */
export function assessVitals(
  readings: Record<string, number>,
  opts: { overrides?: Overrides | null; onOxygen?: boolean; consciousness?: string | null } = {},
): Assessment {
  const ov = opts.overrides ?? null;
  const onOxygen = opts.onOxygen ?? false;
  const level = opts.consciousness ?? null;
  const accepted: Record<string, number> = {};
  const rejected: Record<string, string> = {};
  const groups: [Priority | null, Reason[]][] = [];
  const reject = (code: string, value: number, message: string): void => {
    rejected[code] = message;
    groups.push(["WHITE", [reason(`triage.vitals.implausible.${code}`, { value })]]);
  };
  for (const [code, value] of Object.entries(readings)) {
    if (!RULES.measurement_codes.includes(code) || code === "mean_arterial_pressure") continue;
    try {
      accepted[code] = checkReading(code, value);
    } catch (e) {
      reject(code, value, (e as Error).message);
    }
  }
  if ("systolic" in accepted && "diastolic" in accepted) {
    if (accepted.diastolic >= accepted.systolic) {
      const msg = `diastolic (${accepted.diastolic}) must be below systolic (${accepted.systolic}); the two values may be swapped`;
      for (const code of ["systolic", "diastolic"]) {
        const v = accepted[code];
        delete accepted[code];
        reject(code, v, msg);
      }
    } else groups.push(bp(accepted.systolic, accepted.diastolic, ov));
  } else if ("systolic" in accepted || "diastolic" in accepted) {
    groups.push([null, [reason("triage.bp.incomplete")]]);
  }
  if ("glucose" in accepted) groups.push(glucose(accepted.glucose, ov, level !== null && level !== "alert"));
  const scale = ov?.spo2_scale ?? 1;
  if ("spo2" in accepted) groups.push(spo2(accepted.spo2, scale, onOxygen, ov));
  if (level !== null && RULES.consciousness_critical.includes(level)) {
    groups.push(["RED", [reason("triage.consciousness.critical")]]);
  }
  const score = news2(accepted, scale, onOxygen, level);
  groups.push([score.priority, score.reasons]);
  // Stable sort: most urgent first, equal priorities in the order above.
  const sorted = groups.map((g, i) => [g, i] as const).sort((a, b) => priorityRank(a[0][0]) - priorityRank(b[0][0]) || a[1] - b[1]);
  const reasons = sorted.flatMap(([g]) => g[1]);
  reasons.push(reason("triage.decision_support"));
  return {
    priority: mostUrgent(groups.map((g) => g[0])),
    reasons,
    rejected,
    news2: { total: score.total, band: score.band, partial: score.partial },
    rule_set_version: RULES.version,
  };
}
