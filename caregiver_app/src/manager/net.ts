// The care manager's screens read and write online, through the app's request helper.
import { request } from "../api";

export class HttpError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function reason(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: { message?: string } | string };
    if (typeof body.detail === "string") return body.detail;
    return body.detail?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await request(path);
  if (!res.ok) throw new HttpError(res.status, await reason(res));
  return (await res.json()) as T;
}

export async function sendJson<T>(path: string, method: string, body: unknown): Promise<T> {
  const res = await request(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new HttpError(res.status, await reason(res));
  return (await res.json()) as T;
}

export interface Person {
  id: string;
  name: string;
}

export function nameOf(people: Person[]): (id: unknown) => string {
  const names = new Map(people.map((p) => [p.id, p.name]));
  return (id) => (typeof id === "string" ? names.get(id) ?? "" : "");
}
