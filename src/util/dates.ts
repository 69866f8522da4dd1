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
  const year = +m[1]!;
  const month = +m[2]!;
  const date = +m[3]!;
  // Impossible dates (2023-02-30, which Date.UTC rolls over to March) are refused by the month's length, not by a round
  // trip through Date#toISOString: a 2000-symbol registry checks 12,000 dates as it loads, and the round trip was
  // most of that (~30 ms). Years before 100 stay refused as they were (Date.UTC reads 0-99 as 1900-1999).
  if (year < 100 || month < 1 || month > 12 || date < 1 || date > daysInMonth(year, month)) return undefined;
  return dayFromIso(s);
}

/** Days in `month` (1-12) of `year`, Gregorian (proleptic before 1582, as Date counts). */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}
