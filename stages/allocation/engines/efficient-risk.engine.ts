/**
 * Highest expected return at a target volatility. The frontier w(t) = argmin 1/2 w'Cw - t mu'w (a QP) is piecewise
 * affine in t with volatility increasing in t, so the answer is the w(t) whose volatility equals the target (to
 * 1e-12 relative), or the largest-return portfolio when even that is below the target.
 *
 * The root is found on the pieces themselves: each QP also returns dw/dt on its final active set and is warm-started
 * from the previous one's active set extended to the new t (variables that w + h dw/dt takes past a bound start
 * fixed there), so on that piece  var(t + h) = v0 + 2 h v1 + h^2 v2  exactly (v0 = w'Cw,
 * v1 = w'C dw, v2 = dw'C dw) and the piece's own root is the next t. When that root lies on the same piece the next
 * solve lands on the target (to rounding); otherwise it is a Newton step across pieces. A bracket [lo, hi] with
 * vol(lo) < target < vol(hi) is kept, and a step that leaves it is replaced by bisection (doubling before an upper
 * end is known), so the search cannot cycle. Typically 3-8 warm solves instead of ~50 cold ones. A target above the
 * largest-return portfolio's volatility returns that portfolio (as before).
 */
import { runError } from '../../../src/core/errors.js';
import { num, params, type Static } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { solveQP, type QPActiveSet } from '../../../src/math/qp.js';
import { qpConstraints, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

/** Relative tolerance on the volatility. */
const VOL_TOL = 1e-12;

interface Point { t: number; x: Float64Array; dx: Float64Array; active: QPActiveSet; vol: number; v0: number; v1: number; v2: number }

const PARAMS = params({ target_volatility: { ...num('Annualised volatility target.', undefined, { exclusiveMin: 0 }), examples: [0.3] } }, { required: ['target_volatility'] });
export type EfficientRiskParams = Static<typeof PARAMS>;

export class EfficientRiskEngine implements AllocationEngine<EfficientRiskParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'efficient_risk',
    needs: 'covariance',
    honours: ['groups', 'linear'],
    longOnly: false,
    description: 'Highest expected return at a target volatility.',
    params: PARAMS,
  };

  run(p: AllocationProblem, params: EfficientRiskParams): EngineResult {
    const target = params.target_volatility;
    const T2 = target * target;
    const n = p.n, C = p.cov;
    const c = qpConstraints(p);
    const direction = Float64Array.from(p.mu, (m) => -m);
    const rows = [...(c.eq?.A ?? []), ...(c.ineq?.A ?? [])];
    const rhs = [...(c.eq?.b ?? []), ...(c.ineq?.b ?? [])];
    const me = c.eq?.A.length ?? 0;
    let solves = 0;
    const Cv = new Float64Array(n);
    const mulC = (v: Float64Array) => {
      for (let i = 0; i < n; i++) {
        const off = i * n;
        let s = 0;
        for (let j = 0; j < n; j++) s += C[off + j]! * v[j]!;
        Cv[i] = s;
      }
      return Cv;
    };
    const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let i = 0; i < n; i++) s += a[i]! * b[i]!; return s; };
    /**
     * The warm start for t: the active set of `from`'s piece extended to t, i.e. its free variables that x + h dx
     * takes past a bound fixed there, and the rows it would break made active (the solver repairs the rest).
     */
    const predict = (from: Point, t: number): QPActiveSet => {
      const h = t - from.t;
      const state = Uint8Array.from(from.active.state);
      const xp = new Float64Array(n);
      // free variables crossing a bound, with the fraction of the step at which they cross
      const crossing: { i: number; at: number; to: number }[] = [];
      let free = 0;
      for (let i = 0; i < n; i++) {
        xp[i] = from.x[i]! + h * from.dx[i]!;
        if (state[i] !== 0) continue;
        free++;
        if (xp[i]! <= p.lb[i]!) crossing.push({ i, at: (p.lb[i]! - from.x[i]!) / (h * from.dx[i]!), to: 1 });
        else if (xp[i]! >= p.ub[i]!) crossing.push({ i, at: (p.ub[i]! - from.x[i]!) / (h * from.dx[i]!), to: 2 });
      }
      const active = new Set(from.active.rows);
      for (let j = me; j < rows.length; j++) if (!active.has(j) && dot(rows[j]!, xp) > rhs[j]!) active.add(j);
      // keep the last ones to cross free, enough for the active rows to stay independent (a far step would otherwise
      // fix everything, and the start would be poor)
      crossing.sort((a, b) => a.at - b.at);
      const fix = Math.max(0, Math.min(crossing.length, free - active.size - 1));
      for (let q = 0; q < fix; q++) state[crossing[q]!.i] = crossing[q]!.to;
      return { state, rows: [...active], factor: from.active.factor };
    };
    const solve = (t: number, from?: Point): Point => {
      const lin = new Float64Array(n);
      for (let i = 0; i < n; i++) lin[i] = -t * p.mu[i]!;
      const sol = solveQP({ n, Q: C, c: lin, ...c }, { warmStart: from ? predict(from, t) : undefined, direction });
      solves++;
      const x = sol.x, dx = sol.dx!;
      const Cx = mulC(x);
      const v0 = Math.max(0, dot(x, Cx));
      const v1 = dot(dx, Cx);
      const v2 = Math.max(0, dot(dx, mulC(dx)));
      return { t, x, dx, active: sol.activeSet, vol: Math.sqrt(v0), v0, v1, v2 };
    };
    /** t where the variance of s's piece, extended, equals the target's (NaN when it never does). */
    const pieceRoot = (s: Point): number => {
      const r = T2 - s.v0;
      const disc = s.v1 * s.v1 + s.v2 * r;
      if (!(disc >= 0)) return NaN;
      const q = s.v1 + Math.sqrt(disc);
      const h = q > 0 ? r / q : (s.v2 > 0 ? (-s.v1 + Math.sqrt(disc)) / s.v2 : NaN);
      return s.t + h;
    };
    const done = (s: Point) => ({ weights: s.x, diagnostics: { target_volatility: target, reached: s.vol, solves } });
    const hit = (s: Point) => Math.abs(s.vol - target) <= VOL_TOL * target;

    const low = solve(0);
    if (low.vol > target * (1 + 1e-10)) throw runError('TARGET_VOLATILITY_INFEASIBLE', `efficient_risk: the minimum volatility within the constraints is ${low.vol.toFixed(6)}, above the target ${target}`);
    if (low.vol >= target || hit(low)) return done(low);
    let lo = low;
    let hi: Point | null = null;
    let cur = low;
    for (let k = 0; k < 200; k++) {
      const upper = hi ? hi.t : Infinity;
      // a flat piece (the frontier sits at a vertex: dw/dt = 0 to rounding) has no root; before an upper end is known,
      // double t: since the volatility never decreases in t, the same volatility there is taken as the largest-return
      // end (the test the bisection always used)
      const flat = cur.v2 <= 1e-20 * cur.v0;
      let t = flat ? NaN : pieceRoot(cur);
      const jumped = !hi && flat;
      if (!(t > lo.t && t < upper)) t = hi ? (lo.t + hi.t) / 2 : Math.max(2 * lo.t, 1);
      const s = solve(t, cur);
      if (hit(s)) return done(s);
      if (s.vol < target) {
        if (jumped && s.vol - lo.vol <= 1e-14 * lo.vol) return done(lo);
        if (!hi && t > 2 ** 60) return done(s);
        lo = s;
      } else hi = s;
      cur = s;
      if (hi && hi.t - lo.t <= 1e-14 * hi.t) break;
    }
    // the bracket has collapsed without a hit (a jump in the frontier): the closest point at or below the target
    return done(lo);
  }
}
