/** A backtest batch's span attributes: the earliest and latest as-of dates whatever order the batch decided them in. */
import { batchAttributes } from '../../src/pipeline/runner.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

test('first and last are the earliest and latest dates, also for dates taken over from the back of a block', () => {
  // A thread decided its own 3 dates ascending, then took over a run from another block, then an earlier one.
  const dates = ['2024-01-02', '2024-01-23', '2024-02-13', '2024-06-04', '2024-06-25', '2024-03-05'].map(day);
  expect(batchAttributes(dates)).toEqual({ 'fractal.decisions': 6, 'fractal.decisions.first': '2024-01-02', 'fractal.decisions.last': '2024-06-25' });
  expect(batchAttributes([day('2024-05-01')])).toEqual({ 'fractal.decisions': 1, 'fractal.decisions.first': '2024-05-01', 'fractal.decisions.last': '2024-05-01' });
  expect(batchAttributes([])).toEqual({ 'fractal.decisions': 0 });
});
