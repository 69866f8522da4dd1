/** What the reporters read of a parity check (ctx.backtest.parity, the backtest stage's parity.json record). */
export interface ParityMetrics {
  sharpe: number;
  cagr: number;
  max_drawdown: number;
  total_return: number;
  turnover: number;
  costs: number;
  carry: { total: number };
}

export interface ParityView {
  simulator: string;
  reference: string;
  returns: Record<string, Float64Array>;
  record: {
    settings: Record<string, unknown>;
    metrics: Record<string, ParityMetrics>;
    differences: Record<'sharpe' | 'cagr' | 'max_drawdown' | 'total_return' | 'turnover' | 'costs' | 'carry', number>;
    tracking_error: number;
    largest_equity_gap: { date: string; relative: number } | null;
    unfilled: { orders: number; of: number; by_reason: Record<string, number> };
  };
}
