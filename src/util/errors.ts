/** Turning a caught value into text for a log line or a message (one helper for the whole code base). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The text of an error's `cause`, if it has one (drivers put the useful part there). */
export function causeText(e: unknown): string | undefined {
  return e instanceof Error && e.cause !== undefined ? errorText(e.cause) : undefined;
}
