/**
 * Client ids of the broker's own in-process sessions: a bridge's queue (`bridge:<name>`) and a console
 * topic viewer (`$console-<token>`). Network clients may not connect with them (handlers/connect.ts):
 * one could otherwise take a bridge's session over, and with it the messages queued for the upstream.
 */
export const BRIDGE_CLIENT_ID_PREFIX = "bridge:";
export const CONSOLE_CLIENT_ID_PREFIX = "$console-";

/** Whose in-process session a client id names, if any. */
export function localSessionKind(clientId: string): "bridge" | "console" | undefined {
  if (clientId.startsWith(BRIDGE_CLIENT_ID_PREFIX)) return "bridge";
  if (clientId.startsWith(CONSOLE_CLIENT_ID_PREFIX)) return "console";
  return undefined;
}
