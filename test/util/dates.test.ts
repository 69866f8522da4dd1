/**
 * parseIsoDay against an independent reference: Date's own reading of the text, kept only when it reads back as the
 * same text (a round trip through toISOString refuses what Date.UTC rolls over, like 2023-02-30).
 */
import { parseIsoDay } from '../../src/util/dates.js';

function reference(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text ? ms / 86_400_000 : undefined;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

test('every day, month 00-13 and day 00-32 of the years 1600-2100 (leap and common centuries): as the reference reads them', () => {
  let valid = 0;
  let differ = 0;
  for (let y = 1600; y <= 2100; y++)
    for (let mo = 0; mo <= 13; mo++)
      for (let d = 0; d <= 32; d++) {
        const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
        const got = parseIsoDay(text);
        if (got !== reference(text)) differ++;
        if (got !== undefined) valid++;
      }
  expect(differ).toBe(0);
  // 501 years of 365 days, and 122 leap days (1600 to 2100: every fourth year but 1700, 1800, 1900 and 2100).
  expect(valid).toBe(501 * 365 + 122);
});

test('years before 100 stay refused (Date.UTC reads them as 1900-1999), and malformed text is refused', () => {
  for (const text of ['0000-01-01', '0050-06-15', '0099-12-31', '2024-2-01', '2024-02-1', '24-02-01', '2024/02/01', '2024-02-01x', '', 'x'])
    expect({ text, day: parseIsoDay(text) }).toEqual({ text, day: undefined });
  expect(parseIsoDay('0100-01-01')).toBe(reference('0100-01-01'));
  expect(parseIsoDay('2024-02-29')).toBe(19782);
  expect(parseIsoDay('2023-02-29')).toBeUndefined();
});

test('a trailing midnight and surrounding blanks are read as the day, any other time is refused', () => {
  for (const text of [' 2024-03-10', '2024-03-10 ', '2024-03-10T00:00', '2024-03-10T00:00:00Z', '2024-03-10 00:00:00.000+00:00']) expect({ text, day: parseIsoDay(text) }).toEqual({ text, day: 19792 });
  for (const text of ['2024-03-10T01:00', '2024-03-10T00:00:01Z', '2024-03-32T00:00']) expect({ text, day: parseIsoDay(text) }).toEqual({ text, day: undefined });
});
