/** Display helpers: pure, no React. */

/** 8192 → "8 GiB", 2731 → "2731 MiB": exact figures, no rounding that hides a lost MiB. */
export function formatMiB(mib: number): string {
  if (mib === 0) return "0 GiB";
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024 && (mib * 2) % 1024 === 0) return `${mib / 1024} GiB`;
  return `${mib} MiB`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}

/** Duration from start to end, or to `now` while still running. */
export function elapsed(start: Date | null | undefined, end: Date | null | undefined, now: number): number | null {
  if (!start) return null;
  return (end ? end.getTime() : now) - start.getTime();
}

/** [0,1,2,3,7,9,10] → "0–3, 7, 9–10" */
export function compactRanges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/** "uan://heat/slab-7" → "slab-7" */
export function actorShortName(uan: string): string {
  const m = /^uan:\/\/[^/]+\/(.+)$/.exec(uan);
  return m ? m[1]! : uan;
}

export function formatTime(d: Date, now: number): string {
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return sameDay ? time : `${d.toLocaleDateString("en-CA")} ${time}`;
}

export function formatAgo(d: Date, now: number): string {
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** "rolled_back" → "Rolled back" */
export function statusLabel(status: string): string {
  const words = status.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** 1536 → "1.5 KiB" */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** The browser's time zone as an offset: "UTC", "UTC+01:00", "UTC−05:30". */
export function zoneLabel(d: Date = new Date()): string {
  const offset = -d.getTimezoneOffset();
  if (offset === 0) return "UTC";
  const abs = Math.abs(offset);
  return `UTC${offset > 0 ? "+" : "−"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A full instant with its zone, for titles and exports: "2026-12-01 11:02:33 UTC+01:00". */
export function formatInstant(d: Date): string {
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${zoneLabel(d)}`;
}
