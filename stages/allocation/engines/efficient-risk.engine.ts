/**
 * Highest expected return at a target volatility. The frontier w(t) = argmin 1/2 w'Cw - t mu'w (a QP) is piecewise
 * affine in t with volatility increasing in t, so the answer is the w(t) whose volatility equals the target (to
 * 1e-12 relative), or the largest-return portfolio when even that is below the target.
 *
 * The root is found on the pieces themselves: each QP is warm-started from the previous active set and also returns
 * dw/dt on its final active set, so on that piece  var(t + h) = v0 + 2 h v1 + h^2 v2  exactly (v0 = w'Cw,
 * v1 = w'C dw, v2 = dw'C dw) and the piece's own root is the next t. When that root lies on the same piece the next
 * solve lands on the target (to rounding); otherwise it is a Newton step across pieces. A bracket [lo, hi] with
 * vol(lo) < target < vol(hi) is kept, and a step that leaves it is replaced by bisection (doubling before an upper
 * end is known), so the search cannot cycle. Typically 3-8 warm solves instead of ~50 cold ones. A target above the
 * largest-return portfolio's volatility returns that portfolio (as before).
 */
import { runError } from '../../../src/core/errors.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { solveQP, type QPActiveSet } from '../../../src/math/qp.js';
import { qpConstraints, type AllocationEngine, type AllocationProblem, type EngineResult } from '../engine.js';

/** Relative tolerance on the volatility. */
const VOL_TOL = 1e-12;

interface Point { t: number; x: Float64Array; vol: number; v0: number; v1: number; v2: number }

export class EfficientRiskEngine implements AllocationEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'efficient_risk',
    description: 'Highest expected return at a target volatility.',
    params: params({ target_volatility: num('Annualised volatility target.', undefined, { exclusiveMin: 0 }) }, { required: ['target_volatility'] }),
  };

  run(p: AllocationProblem, params: Record<string, unknown>): EngineResult {
    const target = params.target_volatility as number;
    const T2 = target * target;
    const n = p.n, C = p.cov;
    const c = qpConstraints(p);
    const direction = Float64Array.from(p.mu, (m) => -m);
    let warm: QPActiveSet | undefined;
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
    const solve = (t: number): Point => {
      const lin = new Float64Array(n);
      for (let i = 0; i < n; i++) lin[i] = -t * p.mu[i]!;
      const sol = solveQP({ n, Q: C, c: lin, ...c }, { warmStart: warm, direction });
      solves++;
      warm = sol.activeSet;
      const x = sol.x, dx = sol.dx!;
      const Cx = mulC(x);
      const v0 = Math.max(0, dot(x, Cx));
      const v1 = dot(dx, Cx);
      const v2 = Math.max(0, dot(dx, mulC(dx)));
      return { t, x, vol: Math.sqrt(v0), v0, v1, v2 };
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
      // jump far ahead: since the volatility never decreases in t, the same volatility there means it is the
      // largest-return end (the old doubling test, over a factor of 1e6 instead of 2)
      const flat = cur.v2 <= 1e-20 * cur.v0;
      let t = flat ? NaN : pieceRoot(cur);
      const jumped = !hi && flat;
      if (!(t > lo.t && t < upper)) t = hi ? (lo.t + hi.t) / 2 : Math.max(lo.t, 1) * (flat ? 1e6 : 2);
      const s = solve(t);
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
