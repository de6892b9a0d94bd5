// What every screen shares: the session, whether we are online, and a way to redraw.
import type { AppSession } from "./api";

export const state: {
  session: AppSession | null;
  signedOut: boolean;
  online: boolean;
  persisted: boolean | null;
  render: () => void;
  kick: () => void;
  flash: (text: string) => void;
} = {
  session: null,
  signedOut: false,
  online: navigator.onLine,
  persisted: null,
  render: () => undefined,
  kick: () => undefined,
  flash: () => undefined,
};

export function go(hash: string): void {
  location.hash = hash;
}
