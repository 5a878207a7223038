/// <reference lib="dom" />
/** Hash routes (#/clients/abc): the console is one page, served from any path of the admin port. */
export function currentRoute(): string[] {
  return location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

export function navigate(hash: string): void {
  location.hash = hash;
}
