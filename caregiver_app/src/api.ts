// Requests to the server: the session cookie rides along; writes carry the CSRF token the
// app keeps with the session. A 401 means the sign-in has ended: nothing is dropped.
import { getMeta } from "./db";
import { locale } from "./i18n";

export interface AppSession {
  user_id: string;
  username: string;
  full_name: string;
  role: "caregiver" | "volunteer" | "care_manager" | "clinician";
  locale: string | null;
  csrf_token: string;
  centre_phone: string | null;
  // The caseload map's tile URL template and its credit; empty: no tiles (a plain map).
  map_tile_url?: string;
  map_tile_attribution?: string;
}

export class SignedOut extends Error {}
export class Offline extends Error {}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  headers.set("Accept-Language", locale());
  if (init.method && init.method !== "GET") {
    const session = await getMeta<AppSession>("session");
    if (session) headers.set("X-CSRF-Token", session.csrf_token);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new Offline(path);
  }
  if (res.status === 401) throw new SignedOut(path);
  return res;
}

export async function fetchSession(): Promise<AppSession> {
  const res = await request("/api/v1/careapp/session");
  if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
  return (await res.json()) as AppSession;
}
