/**
 * Where sign-in sends a person afterwards: the console page they asked for, or "/" when the
 * value is missing or not a path on this site (an absolute URL, "//host", a backslash trick).
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\")) return "/";
  if ([...next].some((c) => c.charCodeAt(0) < 0x20)) return "/";
  if (next === "/sign-in" || next.startsWith("/sign-in?") || next.startsWith("/api/")) return "/";
  return next;
}

/** The sign-in page's address for a visitor who asked for `path`. */
export function signInHref(path: string | null | undefined): string {
  const next = safeNextPath(path);
  return next === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`;
}
