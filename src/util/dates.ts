/** Calendar helpers: the lakehouse counts days since 1970-01-01 UTC (EpochDay), like Arrow's Date32. */
const MS_PER_DAY = 86_400_000;

export function dayFromIso(iso: string): number {
  return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / MS_PER_DAY;
}

export function isoFromDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function dayFromMs(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

export function msFromDay(day: number): number {
  return day * MS_PER_DAY;
}

export function todayDay(now = Date.now()): number {
  return Math.floor(now / MS_PER_DAY);
}

/** 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isBusinessDay(day: number): boolean {
  const w = weekday(day);
  return w !== 0 && w !== 6;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Strict YYYY-MM-DD (also accepts a trailing midnight time, as some exports write); returns undefined when invalid. */
export function parseIsoDay(text: string): number | undefined {
  let s = text.trim();
  if (s.length > 10 && /^\d{4}-\d{2}-\d{2}[ T]00:00(:00(\.0+)?)?(Z|\+00:00)?$/.test(s)) s = s.slice(0, 10);
  const m = ISO_DATE.exec(s);
  if (!m) return undefined;
  const day = dayFromIso(s);
  // Date.UTC rolls 2023-02-30 over to March: a round trip catches impossible dates.
  return Number.isFinite(day) && isoFromDay(day) === s ? day : undefined;
}
