/** Annualisation by asset type: crypto trades every day of the year, everything else on about 252 sessions. */

const CRYPTO = new Set(['spot', 'perp', 'crypto']);

/** Periods per year of a candidate's daily returns: 365 for crypto (spot, perp), 252 otherwise (or when unknown). */
export function periodsPerYearFor(candidate: { asset_type?: string } | undefined): number {
  return candidate?.asset_type && CRYPTO.has(candidate.asset_type) ? 365 : 252;
}
