/**
 * Dense convex QP:  minimise 1/2 x'Qx + c'x  subject to  E x = e,  G x <= g,  lb <= x <= ub.
 *
 * Goldfarb-Idnani dual active-set method, written for this shape of problem (many simple bounds, a few general
 * rows):
 * - Simple bounds are never general constraints: a variable is either free or fixed at one of its bounds, and the
 *   equality-constrained subproblem lives on the free block only. Q_FF = L L' is kept as a Cholesky factor that is
 *   updated, not refactored: freeing a variable appends a row (one triangular solve), fixing one deletes a row and
 *   column (a Givens rank-one update of the trailing block).
 * - The active general rows A_W enter through the Schur complement S = Y'Y with Y = L^-1 A_WF' (Y is carried
 *   through the same updates as L; S is small and refactored at each step).
 * - The dual method needs no feasible starting point: it starts from a dual-feasible active set (variables fixed
 *   at a bound with multipliers of the right sign; for min-variance that is x = 0, nothing free), adds the
 *   equalities, then repeatedly the most violated inequality, dropping active constraints whose multipliers would
 *   turn negative (partial steps). The dual objective increases strictly at every full step, so it terminates;
 *   when a violated constraint can neither be reached (it is a combination of the active ones) nor made reachable
 *   by dropping one, the constraints are inconsistent: QPInfeasibleError.
 * - At the end the active set's KKT system is re-solved from scratch (with one step of iterative refinement), the
 *   gradient recomputed and the bound multipliers read from it, so the reported point and multipliers do not
 *   carry the drift of the incremental updates; if that changes the verdict the iterations resume.
 * Q must be symmetric positive definite (callers regularise the covariance first, see regulariseCovariance).
 * Infinite bounds mean no bound; lb = ub fixes a variable. Multipliers follow the convention
 *   Qx + c + E'nu + G'lambda - mu_lb + mu_ub = 0,   lambda, mu_lb, mu_ub >= 0.
 *
 * Warm start (optional, for sequences of related problems such as a frontier): every solution reports its final
 * active set; passed back as `warmStart`, the solver fixes those variables at their bounds, frees the others, makes
 * those rows (and every equality) active and solves that KKT system, then frees / drops whatever has a multiplier
 * of the wrong sign until the start is dual feasible, and continues with the ordinary dual iterations. The answer is
 * the same problem's unique minimiser, so it equals a cold start's to rounding; when the warm start cannot be set up
 * (a singular free block or dependent rows) or fails in any way, the solver silently restarts cold.
 * Sensitivity (optional): given `direction` dc, the solution also carries dx = d x / d s for the linear term
 * c + s dc on the final active set (x(c + s dc) = x + s dx while that active set stays optimal).
 */

export interface QPProblem {
  n: number;
  /** Row-major n x n, symmetric positive definite. */
  Q: Float64Array;
  c?: Float64Array;
  /** Equality rows (each length n) and right-hand sides. */
  eq?: { A: Float64Array[]; b: number[] };
  /** Inequality rows a'x <= b. */
  ineq?: { A: Float64Array[]; b: number[] };
  lb?: Float64Array;
  ub?: Float64Array;
}

export interface QPSolution {
  x: Float64Array;
  objective: number;
  nu: Float64Array;
  lambda: Float64Array;
  muLower: Float64Array;
  muUpper: Float64Array;
  iterations: number;
  /** The final active set (pass as `warmStart` to a related problem). */
  activeSet: QPActiveSet;
  /** dx / ds for c + s * options.direction on the final active set (only when a direction was given). */
  dx?: Float64Array;
  /** True when the warm start was used (false when none was given or it fell back to a cold start). */
  warm: boolean;
}

/** A final active set, to warm-start a related problem. */
export interface QPActiveSet {
  /** Per variable: 0 free, 1 at its lower bound, 2 at its upper bound, 3 fixed (lb = ub). */
  state: Uint8Array;
  /** Active general rows: indices into the equality rows followed by the inequality rows. */
  rows: number[];
  /**
   * Opaque: the final Cholesky factor of the free block. A warm start reuses it (updating it for the variables that
   * changed state) when the new problem passes the very same Q array, unmodified; otherwise it is rebuilt.
   */
  factor?: unknown;
}

/** The factor handed from one solve to the next (see QPActiveSet.factor). */
class FactorCache {
  constructor(readonly Q: Float64Array, readonly n: number, readonly check: number, readonly L: Float64Array, readonly F: Int32Array,
    readonly f: number, readonly updates: number) {}
}

/** A cheap fingerprint of Q (its diagonal and one off-diagonal stripe), to notice a Q modified in place. */
function fingerprint(Q: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (i + 1) * Q[i * n + i]! + (i + 0.5) * Q[i * n + ((i * 7 + 1) % n)]!;
  return s;
}

export interface QPOptions {
  /** The active set of a previous, related solve (same n and rows; Q, c, bounds and right-hand sides may differ). */
  warmStart?: QPActiveSet;
  /** A direction dc for the linear term: the solution then carries dx, the derivative of x along c + s dc. */
  direction?: Float64Array;
}

export class QPInfeasibleError extends Error {
  constructor(message = 'the constraints are inconsistent (no feasible point)') {
    super(message);
    this.name = 'QPInfeasibleError';
  }
}

/** Variable states. */
const FREE = 0, AT_LB = 1, AT_UB = 2, FIXED = 3;
/** Largest batch of degenerate drops, as a fraction of the free block. */
const BATCH = 0.25;
/** Primal-dual rounds of a warm start before only dual repairs are made. */
const PDAS_ROUNDS = 12;

export function solveQP(p: QPProblem, options: QPOptions = {}): QPSolution {
  if (options.warmStart) {
    try {
      const warm = new ActiveSetQP(p).solve(options.warmStart, options.direction);
      if (warm) return warm;
    } catch {
      // fall through to a cold start, which gives the verdict (including QPInfeasibleError)
    }
  }
  return new ActiveSetQP(p).solve(undefined, options.direction)!;
}

class ActiveSetQP {
  readonly n: number;
  readonly Q: Float64Array;
  readonly c: Float64Array;
  readonly lb: Float64Array;
  readonly ub: Float64Array;
  /** General rows: equalities first (me of them), then inequalities. */
  readonly rows: Float64Array[];
  readonly rhs: Float64Array;
  readonly me: number;
  readonly m: number;
  readonly rowScale: Float64Array;
  readonly scaleQ: number;

  readonly x: Float64Array;
  readonly state: Uint8Array;
  /** Free variables in factor order, and each variable's position (-1 when fixed). */
  readonly F: Int32Array;
  readonly pos: Int32Array;
  f = 0;
  /** Cholesky factor of Q_FF, column-major with stride n: L[col * n + row], row >= col. */
  readonly L: Float64Array;
  /** Factor updates (appends and removals) since the factor was built from an empty free block. */
  updates = 0;
  /** Active general rows, their Y = L^-1 A_WF' columns, and the row multipliers (nu for equalities, lambda else). */
  W: number[] = [];
  Y: Float64Array[] = [];
  readonly inW: Uint8Array;
  readonly mult: Float64Array;
  /** For fixed variables: d = Qx + c + A_W' mult (+ the partial multiplier of the constraint being added). */
  readonly d: Float64Array;
  /** Row residuals a'x - b. */
  readonly s: Float64Array;
  iterations = 0;
  readonly maxIterations: number;
  readonly feasTol: number;

  // scratch
  private readonly w1: Float64Array;
  private readonly w2: Float64Array;
  private readonly z: Float64Array;
  private readonly dg: Float64Array;
  private readonly rot: Float64Array;

  constructor(p: QPProblem) {
    const n = p.n;
    if (p.Q.length !== n * n) throw new Error(`Q has ${p.Q.length} entries, expected ${n}^2`);
    this.n = n;
    this.Q = p.Q;
    this.c = p.c ? Float64Array.from(p.c) : new Float64Array(n);
    this.lb = p.lb ? Float64Array.from(p.lb) : new Float64Array(n).fill(-Infinity);
    this.ub = p.ub ? Float64Array.from(p.ub) : new Float64Array(n).fill(Infinity);
    const eqA = p.eq?.A ?? [], eqB = p.eq?.b ?? [], inA = p.ineq?.A ?? [], inB = p.ineq?.b ?? [];
    for (const a of [...eqA, ...inA]) if (a.length !== n) throw new Error(`a constraint row has ${a.length} entries, expected ${n}`);
    this.rows = [...eqA, ...inA];
    this.me = eqA.length;
    this.m = this.rows.length;
    this.rhs = Float64Array.from([...eqB, ...inB]);
    this.rowScale = new Float64Array(this.m);
    for (let j = 0; j < this.m; j++) {
      let s = 0;
      for (const v of this.rows[j]!) s += v * v;
      this.rowScale[j] = Math.sqrt(s) || 1;
    }
    let qmax = 0;
    for (let i = 0; i < n; i++) qmax = Math.max(qmax, Math.abs(this.Q[i * n + i]!));
    this.scaleQ = qmax || 1;
    this.x = new Float64Array(n);
    this.state = new Uint8Array(n);
    this.F = new Int32Array(n);
    this.pos = new Int32Array(n).fill(-1);
    this.L = new Float64Array(n * n);
    this.inW = new Uint8Array(this.m);
    this.mult = new Float64Array(this.m);
    this.d = new Float64Array(n);
    this.s = new Float64Array(this.m);
    this.w1 = new Float64Array(n);
    this.w2 = new Float64Array(n);
    this.z = new Float64Array(n);
    this.dg = new Float64Array(n);
    this.rot = new Float64Array(2 * n);
    this.maxIterations = 20 * (n + this.m) + 1000;
    let bmax = 1;
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(this.lb[i]!)) bmax = Math.max(bmax, Math.abs(this.lb[i]!));
      if (Number.isFinite(this.ub[i]!)) bmax = Math.max(bmax, Math.abs(this.ub[i]!));
    }
    this.feasTol = 1e-13 * bmax;
  }

  /** Solves cold, or from a warm active set (null when that warm start cannot be set up). */
  solve(warm?: QPActiveSet, direction?: Float64Array): QPSolution | null {
    const { n } = this;
    for (let i = 0; i < n; i++) {
      const lo = this.lb[i]!, hi = this.ub[i]!;
      if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new QPInfeasibleError(`the bounds of variable ${i} are inconsistent (${lo} > ${hi})`);
    }
    if (warm) {
      if (!this.warmStart(warm)) return null;
    } else {
      this.start();
      for (let j = 0; j < this.me; j++) this.add(j, false);
    }
    for (let round = 0; ; round++) {
      for (;;) {
        const p = this.mostViolated();
        if (p === null) break;
        this.add(p.index, p.bound);
      }
      this.polish();
      if (this.mostViolated() === null || round >= 5) break;
    }
    return this.result(direction, !!warm);
  }

  /**
   * A dual-feasible start from a previous active set: its variables fixed at their (current) bounds, the others
   * free, its rows and every equality active, the KKT system of that set solved; then every fixed variable and
   * active inequality whose multiplier has the wrong sign is freed / dropped and the system re-solved, until none
   * has. False when it cannot be set up (wrong sizes, a dependent set of rows, no convergence).
   */
  private warmStart(ws: QPActiveSet): boolean {
    const { n, lb, ub, x, state } = this;
    if (ws.state.length !== n) return false;
    for (let i = 0; i < n; i++) {
      const want = ws.state[i]!;
      const loF = Number.isFinite(lb[i]!), hiF = Number.isFinite(ub[i]!);
      if (lb[i] === ub[i]) { state[i] = FIXED; x[i] = lb[i]!; }
      else if ((want === AT_LB || want === FIXED) && loF) { state[i] = AT_LB; x[i] = lb[i]!; }
      else if ((want === AT_UB || want === FIXED) && hiF) { state[i] = AT_UB; x[i] = ub[i]!; }
      else { state[i] = FREE; x[i] = 0; }
    }
    const cache = ws.factor instanceof FactorCache && ws.factor.Q === this.Q && ws.factor.n === n && ws.factor.updates <= 10 * n
      && ws.factor.check === fingerprint(this.Q, n) ? ws.factor : null;
    if (cache) {
      // the previous factor, updated: fix what is no longer free (from the end, the cheapest), then free the rest
      this.L.set(cache.L);
      this.F.set(cache.F.subarray(0, cache.f));
      this.f = cache.f;
      for (let q = 0; q < this.f; q++) this.pos[this.F[q]!] = q;
      this.updates = cache.updates;
      for (let q = this.f - 1; q >= 0; q--) { const i = this.F[q]!; if (state[i] !== FREE) this.remove(i); }
      for (let i = 0; i < n; i++) if (state[i] === FREE && this.pos[i]! < 0) this.append(i);
    } else {
      for (let i = 0; i < n; i++) if (state[i] === FREE) this.append(i);
    }
    // the given rows that are independent on the free block (equalities first); the other equalities are added
    // below by dual steps, as in a cold start
    const rows = new Set<number>();
    for (let j = 0; j < this.me; j++) rows.add(j);
    for (const j of ws.rows) {
      if (!Number.isInteger(j) || j < 0 || j >= this.m) return false;
      rows.add(j);
    }
    for (const j of [...rows].sort((a, b) => a - b)) {
      this.addRow(j);
      if (!this.independent()) {
        this.W.pop();
        this.Y.pop();
        this.inW[j] = 0;
      }
    }
    // primal-dual active-set rounds (Hintermueller, Ito, Kunisch 2002): fix free variables that the active set's
    // solution takes past a bound, free fixed ones whose multiplier has the wrong sign, make violated rows active and
    // drop active ones with a negative multiplier; this usually lands on the optimal set in a few rounds. It can
    // cycle, so after PDAS_ROUNDS only the dual half continues (freeing and dropping, which ends: the free block only
    // grows), which leaves the dual-feasible start the dual method needs; it finishes the job.
    const fixList: number[] = [], freeList: number[] = [];
    for (let round = 0; ; round++) {
      if (round > PDAS_ROUNDS + n + this.m) return false;
      const primal = round < PDAS_ROUNDS;
      this.polish();
      fixList.length = 0;
      freeList.length = 0;
      for (let i = 0; i < n; i++) {
        const st = state[i]!;
        if ((st === AT_LB && this.d[i]! < 0) || (st === AT_UB && this.d[i]! > 0)) freeList.push(i);
        else if (primal && st === FREE) {
          const tol = this.feasTol * (1 + Math.abs(x[i]!));
          if (x[i]! < lb[i]! - tol || x[i]! > ub[i]! + tol) fixList.push(i);
        }
      }
      let changed = freeList.length > 0 || fixList.length > 0;
      for (let a = this.W.length - 1; a >= 0; a--) {
        const j = this.W[a]!;
        if (j >= this.me && this.mult[j]! < 0) {
          this.mult[j] = 0;
          this.inW[j] = 0;
          this.W.splice(a, 1);
          this.Y.splice(a, 1);
          changed = true;
        }
      }
      if (fixList.length) {
        for (const i of fixList) { state[i] = x[i]! < lb[i]! ? AT_LB : AT_UB; x[i] = state[i] === AT_LB ? lb[i]! : ub[i]!; }
        const f = this.f, left = f - fixList.length;
        // many removals from a large block: rebuilding the (smaller) factor is cheaper than updating it
        if (fixList.length * f * f > left * left * left / 3 + f * f) this.rebuild();
        else for (const i of fixList.sort((p, q) => this.pos[q]! - this.pos[p]!)) this.remove(i);
        // a smaller free block may no longer hold every active row independently: keep those that it does (an
        // equality left out is added by a dual step at the end)
        const rows = this.W.slice();
        this.W = [];
        this.Y = [];
        for (const j of rows) {
          this.inW[j] = 0;
          this.addRow(j);
          if (!this.independent()) { this.W.pop(); this.Y.pop(); this.inW[j] = 0; this.mult[j] = 0; }
        }
      }
      for (const i of freeList) { state[i] = FREE; this.append(i); }
      if (primal) {
        for (let j = this.me; j < this.m; j++) {
          if (this.inW[j] || !(this.s[j]! > this.feasTol * (this.rowScale[j]! + Math.abs(this.rhs[j]!)))) continue;
          this.addRow(j);
          if (this.independent()) changed = true;
          else { this.W.pop(); this.Y.pop(); this.inW[j] = 0; }
        }
      }
      if (!changed) break;
    }
    for (let j = 0; j < this.me; j++) if (!this.inW[j]) this.add(j, false);
    return true;
  }

  /** Rebuilds the factor (and Y) of the current free set from scratch: the variables with state FREE, in index order. */
  private rebuild(): void {
    const rows = this.W.slice();
    for (const j of rows) this.inW[j] = 0;
    this.W = [];
    this.Y = [];
    for (let q = 0; q < this.f; q++) this.pos[this.F[q]!] = -1;
    this.f = 0;
    this.updates = 0;
    for (let i = 0; i < this.n; i++) if (this.state[i] === FREE) this.append(i);
    for (const j of rows) this.addRow(j);
  }

  /** Whether the active rows are independent on the free block (their Schur complement is well conditioned). */
  private independent(): boolean {
    const k = this.W.length, f = this.f;
    if (!k) return true;
    const last = this.Y[k - 1]!;
    let yy = 0;
    for (let q = 0; q < f; q++) yy += last[q]! * last[q]!;
    const scale = this.rowScale[this.W[k - 1]!]! ** 2 / this.scaleQ;
    if (!(yy > 1e-12 * scale)) return false;
    const S = this.gram();
    if (!cholFactor(S, k)) return false;
    // the last pivot against the row's own size: a near-dependent row is left out
    return S[(k - 1) * k + (k - 1)]! ** 2 > 1e-12 * yy;
  }

  // ---- starting point -------------------------------------------------------------------------------------------

  /**
   * A dual-feasible start: every variable with a finite bound is fixed at one (the lower when finite), the others
   * are free at the minimiser of the objective given the fixed ones; a fixed variable whose multiplier has the wrong
   * sign is freed, until none has.
   */
  private start(): void {
    const { n, lb, ub, x, state } = this;
    const toFree: number[] = [];
    for (let i = 0; i < n; i++) {
      if (lb[i] === ub[i]) { state[i] = FIXED; x[i] = lb[i]!; }
      else if (Number.isFinite(lb[i]!)) { state[i] = AT_LB; x[i] = lb[i]!; }
      else if (Number.isFinite(ub[i]!)) { state[i] = AT_UB; x[i] = ub[i]!; }
      else { state[i] = FREE; toFree.push(i); }
    }
    for (let k = 0; k <= n; k++) {
      for (const i of toFree) { this.state[i] = FREE; this.append(i); }
      this.polish();
      toFree.length = 0;
      for (let i = 0; i < n; i++) {
        if ((state[i] === AT_LB && this.d[i]! < 0) || (state[i] === AT_UB && this.d[i]! > 0)) toFree.push(i);
      }
      if (!toFree.length) break;
    }
  }

  // ---- choosing the next constraint -----------------------------------------------------------------------------

  private mostViolated(): { index: number; bound: boolean } | null {
    let best = 0, index = -1, bound = false;
    const { F, x, lb, ub } = this;
    for (let q = 0; q < this.f; q++) {
      const i = F[q]!;
      const v = Math.max(lb[i]! - x[i]!, x[i]! - ub[i]!);
      if (v > this.feasTol * (1 + Math.abs(x[i]!)) && v > best) { best = v; index = i; bound = true; }
    }
    for (let j = 0; j < this.m; j++) {
      if (this.inW[j]) continue;
      const v = j < this.me ? Math.abs(this.s[j]!) / this.rowScale[j]! : this.s[j]! / this.rowScale[j]!;
      if (v > this.feasTol * (1 + Math.abs(this.rhs[j]!) / this.rowScale[j]!) && v > best) { best = v; index = j; bound = false; }
    }
    return index < 0 ? null : { index, bound };
  }

  // ---- adding a constraint (the dual step) ----------------------------------------------------------------------

  /**
   * Adds constraint p (a general row, or the violated bound of free variable p) by raising its multiplier u from 0:
   * partial steps drop an active constraint whose multiplier reaches 0 first, the full step makes p active.
   */
  private add(p: number, isBound: boolean): void {
    const { n, x, z, dg, d, state, F } = this;
    const isEq = !isBound && p < this.me;
    // signed normal n_p: the constraint is n_p'x <= beta and is violated by viol = n_p'x - beta
    let sign: number;
    let viol: number;
    if (isBound) {
      if (x[p]! > this.ub[p]!) { sign = 1; viol = x[p]! - this.ub[p]!; } else { sign = -1; viol = this.lb[p]! - x[p]!; }
    } else {
      const sp = this.s[p]!;
      sign = isEq && sp < 0 ? -1 : 1;
      viol = sign * sp;
    }
    const row = isBound ? null : this.rows[p]!;
    let u = 0;
    let rejudged = false;
    for (;;) {
      if (++this.iterations > this.maxIterations) throw new Error(`QP solver: no convergence after ${this.iterations} iterations (cycling?)`);
      const f = this.f;
      const k = this.W.length;
      // w = L^-1 n_pF
      const w = this.w1;
      w.fill(0, 0, f);
      if (isBound) w[this.pos[p]!] = sign;
      else for (let q = 0; q < f; q++) w[q] = sign * row![F[q]!]!;
      this.forward(w);
      // r = -S^-1 Y'w,  z = -L^-T (w + Y r)
      const r = new Float64Array(k);
      if (k) {
        const S = this.schur();
        for (let a = 0; a < k; a++) { const Ya = this.Y[a]!; let s = 0; for (let q = 0; q < f; q++) s += Ya[q]! * w[q]!; r[a] = -s; }
        cholSolve(S, k, r);
      }
      const v = this.w2;
      for (let q = 0; q < f; q++) v[q] = w[q]!;
      for (let a = 0; a < k; a++) { const Ya = this.Y[a]!, ra = r[a]!; if (ra !== 0) for (let q = 0; q < f; q++) v[q] = v[q]! + ra * Ya[q]!; }
      let ww = 0, rate = 0;
      for (let q = 0; q < f; q++) { ww += w[q]! * w[q]!; rate -= w[q]! * v[q]!; }
      // z = -L^-T v
      for (let q = 0; q < f; q++) z[q] = -v[q]!;
      this.backward(z);
      // a zero primal step: n_p depends on the active constraints (on the free block). Through L^-1 an
      // ill-conditioned Q (a near-constant asset's tiny variance beside a volatile one's) leaves ~1e-10 of rounding
      // on the rate, z and r of a dependent row, which read as a real step: a feasible single point was called
      // infeasible, a 1e-6 infeasibility was stepped through with multipliers of 1e13. So a small rate, or as many
      // active rows as free variables (they span every direction), is settled in the rows' own coordinates, where
      // the budget's and the caps' rows are exact: p's combination of the active rows (r) is found there, and the
      // primal step of a dependent p is exactly zero.
      const span = f > 0 && k > 0 && (k >= f || -rate <= 1e-6 * ww) ? this.activeCombination(p, isBound, sign) : null;
      const dependent = f === 0 || k >= f || !(-rate > 1e-12 * ww) || span !== null;
      if (span) {
        r.set(span);
        z.fill(0, 0, f);
      }
      // rates of the fixed variables' multipliers: dd = Q_BF z + A_WB' r + n_pB (only B is needed)
      const Q = this.Q;
      for (let i = 0; i < n; i++) {
        if (state[i] === FREE || state[i] === FIXED) continue;
        const off = i * n;
        let s = 0;
        if (!span) for (let q = 0; q < f; q++) s += Q[off + F[q]!]! * z[q]!;
        dg[i] = s;
      }
      for (let a = 0; a < k; a++) {
        const ra = r[a]!;
        if (ra === 0) continue;
        const A = this.rows[this.W[a]!]!;
        for (let i = 0; i < n; i++) dg[i] = dg[i]! + ra * A[i]!;
      }
      if (!isBound) for (let i = 0; i < n; i++) dg[i] = dg[i]! + sign * row![i]!;
      if (span) {
        // a rate that is the rounding of terms that cancel (-1 * 1 + 1) is zero, not a tiny rate that blocks
        for (let i = 0; i < n; i++) {
          if (state[i] === FREE || state[i] === FIXED) continue;
          let size = isBound ? 0 : Math.abs(row![i]!);
          for (let a = 0; a < k; a++) size += Math.abs(r[a]! * this.rows[this.W[a]!]![i]!);
          if (Math.abs(dg[i]!) <= 1e-12 * size) dg[i] = 0;
        }
      }
      // partial step: the first active multiplier to reach 0
      let t1 = Infinity, blockVar = -1, blockRow = -1, blockRate = 0;
      for (let a = 0; a < k; a++) {
        const j = this.W[a]!;
        if (j < this.me || !(r[a]! < 0)) continue;
        const t = Math.max(0, this.mult[j]!) / -r[a]!;
        if (t < t1 || (t === t1 && -r[a]! > blockRate)) { t1 = t; blockRow = a; blockVar = -1; blockRate = -r[a]!; }
      }
      for (let i = 0; i < n; i++) {
        const st = state[i]!;
        if (st === AT_LB) {
          const rt = dg[i]!;
          if (rt < 0) { const t = Math.max(0, d[i]!) / -rt; if (t < t1 || (t === t1 && -rt > blockRate)) { t1 = t; blockVar = i; blockRow = -1; blockRate = -rt; } }
        } else if (st === AT_UB) {
          const rt = dg[i]!;
          if (rt > 0) { const t = Math.max(0, -d[i]!) / rt; if (t < t1 || (t === t1 && rt > blockRate)) { t1 = t; blockVar = i; blockRow = -1; blockRate = rt; } }
        }
      }
      const t2 = dependent ? Infinity : viol / -rate;
      if (dependent && viol <= this.feasTol * (1 + (isBound ? 0 : Math.abs(this.rhs[p]!) / this.rowScale[p]!)) * (isBound ? 1 : this.rowScale[p]!)) {
        // a redundant constraint that already holds: leave it out of the active set
        return;
      }
      if (dependent && !rejudged) {
        // Whether a dependent p is violated where the active constraints hold is a fact about the constraints, and the
        // incremental steps drift: with an ill-conditioned Q (a near-constant asset's tiny variance beside a volatile
        // one's) a row that holds exactly at the active set's point was seen violated by ~1e-10, and then either
        // called infeasible (a feasible set that is a single point, caps summing to the budget) or stepped on with
        // multiplier rates that are rounding noise. So p is judged at the active set's point re-solved from scratch
        // (polish), once, and the dual step restarts from there.
        rejudged = true;
        this.polish();
        u = 0;
        viol = isBound ? (sign > 0 ? x[p]! - this.ub[p]! : this.lb[p]! - x[p]!) : sign * this.s[p]!;
        continue;
      }
      if (t1 === Infinity && t2 === Infinity) throw new QPInfeasibleError();
      const t = Math.min(t1, t2);
      // step
      if (t > 0) {
        for (let q = 0; q < f; q++) x[F[q]!] = x[F[q]!]! + t * z[q]!;
        for (let i = 0; i < n; i++) if (state[i] === AT_LB || state[i] === AT_UB) d[i] = d[i]! + t * dg[i]!;
        for (let a = 0; a < k; a++) this.mult[this.W[a]!] = this.mult[this.W[a]!]! + t * r[a]!;
        for (let j = 0; j < this.m; j++) {
          const A = this.rows[j]!;
          let s = 0;
          for (let q = 0; q < f; q++) s += A[F[q]!]! * z[q]!;
          this.s[j] = this.s[j]! + t * s;
        }
        u += t;
        viol += t * rate;
      }
      if (t2 <= t1) {
        // full step: p becomes active
        if (isBound) {
          x[p] = sign > 0 ? this.ub[p]! : this.lb[p]!;
          this.remove(p);
          state[p] = sign > 0 ? AT_UB : AT_LB;
          d[p] = -sign * u;
        } else {
          this.addRow(p);
          this.mult[p] = sign * u;
          this.s[p] = 0;
        }
        return;
      }
      // partial step: drop the blocking constraint and try again
      if (blockVar >= 0 && t1 === 0) {
        // a degenerate step (x does not move): every fixed variable with a zero multiplier that would block is
        // equally valid to free; free the most blocking ones as a batch (a quarter of the free block at most), which
        // spares an iteration per variable while the free block is being built
        const cand: number[] = [];
        for (let i = 0; i < n; i++) {
          const st = state[i]!;
          if ((st === AT_LB && dg[i]! < 0 && !(d[i]! > 0)) || (st === AT_UB && dg[i]! > 0 && !(d[i]! < 0))) cand.push(i);
        }
        const K = Math.max(1, Math.ceil(BATCH * f));
        if (cand.length > K) { cand.sort((a, b) => Math.abs(dg[b]!) - Math.abs(dg[a]!)); cand.length = K; }
        for (const i of cand) { state[i] = FREE; this.append(i); }
      } else if (blockVar >= 0) {
        state[blockVar] = FREE;
        this.append(blockVar);
      } else {
        const j = this.W[blockRow]!;
        this.mult[j] = 0;
        this.inW[j] = 0;
        this.W.splice(blockRow, 1);
        this.Y.splice(blockRow, 1);
      }
    }
  }

  // ---- factor updates -------------------------------------------------------------------------------------------

  /** In place: w <- L^-1 w on the free block (column axpys, skipping zeros). */
  private forward(w: Float64Array): void {
    const { L, n } = this;
    const f = this.f;
    for (let c = 0; c < f; c++) {
      let wc = w[c]!;
      if (wc === 0) continue;
      const off = c * n;
      wc /= L[off + c]!;
      w[c] = wc;
      for (let t = c + 1; t < f; t++) w[t] = w[t]! - wc * L[off + t]!;
    }
  }

  /** In place: v <- L^-T v. */
  private backward(v: Float64Array): void {
    const { L, n } = this;
    const f = this.f;
    for (let c = f - 1; c >= 0; c--) {
      const off = c * n;
      let s = v[c]!;
      for (let t = c + 1; t < f; t++) s -= L[off + t]! * v[t]!;
      v[c] = s / L[off + c]!;
    }
  }

  /** Frees variable i: appends it at the end of the factor of Q_FF (and a row of Y). */
  private append(i: number): void {
    const { n, L, F, Q } = this;
    const f = this.f;
    const l = this.w2;
    for (let q = 0; q < f; q++) l[q] = Q[i * n + F[q]!]!;
    this.forward(l);
    let dd = Q[i * n + i]!;
    for (let q = 0; q < f; q++) { dd -= l[q]! * l[q]!; L[q * n + f] = l[q]!; }
    if (!(dd > 1e-14 * Math.abs(Q[i * n + i]!)) || !(dd > 0)) {
      throw new Error('QP solver: matrix D in quadratic function is not positive definite!');
    }
    const delta = Math.sqrt(dd);
    L[f * n + f] = delta;
    for (let a = 0; a < this.W.length; a++) {
      const Ya = this.Y[a]!;
      let s = this.rows[this.W[a]!]![i]!;
      for (let q = 0; q < f; q++) s -= l[q]! * Ya[q]!;
      Ya[f] = s / delta;
    }
    F[f] = i;
    this.pos[i] = f;
    this.f = f + 1;
    this.updates++;
  }

  /** Fixes free variable i: deletes its row and column from the factor (Givens update of the trailing block). */
  private remove(i: number): void {
    const { n, L, F } = this;
    const f = this.f;
    const q = this.pos[i]!;
    // v = old column q below the diagonal (rows q+1..f-1), the vector of the rank-one update
    const v = this.w2;
    const m = f - 1 - q;
    for (let t = 0; t < m; t++) v[t] = L[q * n + q + 1 + t]!;
    // columns c < q: drop row q
    for (let c = 0; c < q; c++) L.copyWithin(c * n + q, c * n + q + 1, c * n + f);
    // columns c > q move to c - 1, rows shift up by one
    for (let c = q + 1; c < f; c++) L.copyWithin((c - 1) * n + (c - 1), c * n + c, c * n + f);
    // Y rows: take out row q (kept as the extra coordinate of the rotations)
    const yq = new Float64Array(this.W.length);
    for (let a = 0; a < this.W.length; a++) { const Ya = this.Y[a]!; yq[a] = Ya[q]!; Ya.copyWithin(q, q + 1, f); }
    // rank-one update of the trailing block (new columns q..f-2) with v
    const rot = this.rot;
    for (let c = 0; c < m; c++) {
      const col = (q + c) * n + q;
      const vc = v[c]!;
      if (vc === 0) { rot[2 * c] = 1; rot[2 * c + 1] = 0; continue; }
      const a = L[col + c]!;
      const r = Math.hypot(a, vc);
      const C = a / r, S = vc / r;
      rot[2 * c] = C; rot[2 * c + 1] = S;
      L[col + c] = r;
      for (let t = c + 1; t < m; t++) {
        const lt = L[col + t]!, vt = v[t]!;
        L[col + t] = C * lt + S * vt;
        v[t] = -S * lt + C * vt;
      }
    }
    for (let a = 0; a < this.W.length; a++) {
      const Ya = this.Y[a]!;
      let y2 = yq[a]!;
      for (let c = 0; c < m; c++) {
        const S = rot[2 * c + 1]!;
        if (S === 0) continue;
        const C = rot[2 * c]!, yc = Ya[q + c]!;
        Ya[q + c] = C * yc + S * y2;
        y2 = -S * yc + C * y2;
      }
    }
    F.copyWithin(q, q + 1, f);
    for (let t = q; t < f - 1; t++) this.pos[F[t]!] = t;
    this.pos[i] = -1;
    this.f = f - 1;
    this.updates++;
  }

  /**
   * Constraint p's normal on the free block as a combination of the active rows there, in the rows' own coordinates
   * (Gram-Schmidt, twice, then back substitution): r with n_pF + A_WF' r = 0, or null when n_pF is not within 1e-9
   * of their span (or the active rows are themselves near dependent there). The cluster caps' 0/1 rows and the
   * budget's ones are exact in these coordinates, so a dependent p shows rounding only.
   */
  private activeCombination(p: number, isBound: boolean, sign: number): Float64Array | null {
    const f = this.f, F = this.F, k = this.W.length;
    const basis: Float64Array[] = [];
    const R = new Float64Array(k * k); // upper triangular, row-major: a_j = sum_i R[i][j] q_i
    const dot = (a: Float64Array, b: Float64Array) => {
      let s = 0;
      for (let q = 0; q < f; q++) s += a[q]! * b[q]!;
      return s;
    };
    /** Takes v's components along the basis out of v (two passes), adding them to coef. */
    const reduce = (v: Float64Array, coef: (i: number, c: number) => void) => {
      for (let pass = 0; pass < 2; pass++) {
        basis.forEach((b, i) => {
          const c = dot(b, v);
          for (let q = 0; q < f; q++) v[q] = v[q]! - c * b[q]!;
          coef(i, c);
        });
      }
    };
    for (let j = 0; j < k; j++) {
      const A = this.rows[this.W[j]!]!;
      const v = new Float64Array(f);
      for (let q = 0; q < f; q++) v[q] = A[F[q]!]!;
      const before = Math.sqrt(dot(v, v));
      reduce(v, (i, c) => { R[i * k + j] = R[i * k + j]! + c; });
      const after = Math.sqrt(dot(v, v));
      if (!(after > 1e-9 * before)) return null;
      R[j * k + j] = after;
      for (let q = 0; q < f; q++) v[q] = v[q]! / after;
      basis.push(v);
    }
    const t = new Float64Array(f);
    if (isBound) t[this.pos[p]!] = sign;
    else for (let q = 0; q < f; q++) t[q] = sign * this.rows[p]![F[q]!]!;
    const size = Math.sqrt(dot(t, t));
    const c = new Float64Array(k);
    reduce(t, (i, x) => { c[i] = c[i]! + x; });
    if (!(Math.sqrt(dot(t, t)) <= 1e-9 * size)) return null;
    // R y = c, r = -y
    const r = new Float64Array(k);
    for (let i = k - 1; i >= 0; i--) {
      let s = c[i]!;
      for (let j = i + 1; j < k; j++) s -= R[i * k + j]! * r[j]!;
      r[i] = s / R[i * k + i]!;
    }
    let largest = 0;
    for (let i = 0; i < k; i++) largest = Math.max(largest, Math.abs(r[i]!));
    for (let i = 0; i < k; i++) r[i] = Math.abs(r[i]!) <= 1e-12 * largest ? 0 : -r[i]!;
    return r;
  }

  /** Makes general row j active: its column of Y is L^-1 a_jF. */
  private addRow(j: number): void {
    const y = new Float64Array(this.n);
    const A = this.rows[j]!;
    for (let q = 0; q < this.f; q++) y[q] = A[this.F[q]!]!;
    this.forward(y);
    this.W.push(j);
    this.Y.push(y);
    this.inW[j] = 1;
  }

  /** S = Y'Y (k x k, row-major, symmetric). */
  private gram(): Float64Array {
    const k = this.W.length, f = this.f;
    const S = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      const Ya = this.Y[a]!;
      for (let b = 0; b <= a; b++) {
        const Yb = this.Y[b]!;
        let s = 0;
        for (let q = 0; q < f; q++) s += Ya[q]! * Yb[q]!;
        S[a * k + b] = s;
        S[b * k + a] = s;
      }
    }
    return S;
  }

  /** S = Y'Y, Cholesky-factored in place. */
  private schur(): Float64Array {
    const S = this.gram();
    if (!cholFactor(S, this.W.length)) throw new Error('QP solver: the active constraints are numerically dependent');
    return S;
  }

  // ---- exact re-solve of the active set -------------------------------------------------------------------------

  /**
   * Solves the KKT system of the current active set from scratch: Q_FF x_F + A_WF' mult = -(c_F + Q_FB x_B),
   * A_WF x_F = b_W - A_WB x_B; then recomputes the gradient, d for the fixed variables and the row residuals.
   */
  private polish(): void {
    const { n, F, Q, x, state } = this;
    const f = this.f, k = this.W.length;
    const beta = new Float64Array(k);
    const target = new Float64Array(f); // -(c_F + Q_FB x_B)
    for (let q = 0; q < f; q++) {
      const i = F[q]!;
      let s = this.c[i]!;
      const off = i * n;
      for (let j = 0; j < n; j++) if (state[j] !== FREE) s += Q[off + j]! * x[j]!;
      target[q] = -s;
    }
    for (let a = 0; a < k; a++) {
      const A = this.rows[this.W[a]!]!;
      let s = this.rhs[this.W[a]!]!;
      for (let j = 0; j < n; j++) if (state[j] !== FREE) s -= A[j]! * x[j]!;
      beta[a] = s;
    }
    const S = k ? this.schur() : null;
    const xF = new Float64Array(f);
    const lam = new Float64Array(k);
    const solveKKT = (rt: Float64Array, rb: Float64Array, outX: Float64Array, outL: Float64Array) => this.solveKKT(S, rt, rb, outX, outL);
    solveKKT(target, beta, xF, lam);
    // one step of iterative refinement
    const rt = new Float64Array(f), rb = new Float64Array(k);
    for (let q = 0; q < f; q++) {
      const off = F[q]! * n;
      let s = target[q]!;
      for (let p = 0; p < f; p++) s -= Q[off + F[p]!]! * xF[p]!;
      rt[q] = s;
    }
    for (let a = 0; a < k; a++) {
      const A = this.rows[this.W[a]!]!;
      for (let q = 0; q < f; q++) rt[q] = rt[q]! - lam[a]! * A[F[q]!]!;
      let s = beta[a]!;
      for (let q = 0; q < f; q++) s -= A[F[q]!]! * xF[q]!;
      rb[a] = s;
    }
    const dx = new Float64Array(f), dl = new Float64Array(k);
    solveKKT(rt, rb, dx, dl);
    for (let q = 0; q < f; q++) x[F[q]!] = xF[q]! + dx[q]!;
    for (let a = 0; a < k; a++) this.mult[this.W[a]!] = lam[a]! + dl[a]!;
    // gradient, fixed-variable multipliers, residuals
    const g = this.gradient();
    for (let a = 0; a < k; a++) {
      const A = this.rows[this.W[a]!]!, la = this.mult[this.W[a]!]!;
      if (la !== 0) for (let i = 0; i < n; i++) g[i] = g[i]! + la * A[i]!;
    }
    for (let i = 0; i < n; i++) this.d[i] = state[i] === FREE ? 0 : g[i]!;
    for (let j = 0; j < this.m; j++) {
      const A = this.rows[j]!;
      let s = -this.rhs[j]!;
      for (let i = 0; i < n; i++) s += A[i]! * x[i]!;
      this.s[j] = s;
    }
  }

  /** The active set's KKT system  Q_FF xF + A_WF' l = rt,  A_WF xF = rb  (S: the factored Schur complement). */
  private solveKKT(S: Float64Array | null, rt: Float64Array, rb: Float64Array, outX: Float64Array, outL: Float64Array): void {
    // v = L^-1 rt;  S l = Y'v - rb;  xF = L^-T (v - Y l)
    const f = this.f, k = this.W.length;
    const v = this.w1;
    for (let q = 0; q < f; q++) v[q] = rt[q]!;
    v.fill(0, f);
    this.forward(v);
    for (let a = 0; a < k; a++) { const Ya = this.Y[a]!; let s = -rb[a]!; for (let q = 0; q < f; q++) s += Ya[q]! * v[q]!; outL[a] = s; }
    if (k) cholSolve(S!, k, outL);
    for (let a = 0; a < k; a++) { const Ya = this.Y[a]!, la = outL[a]!; for (let q = 0; q < f; q++) v[q] = v[q]! - la * Ya[q]!; }
    this.backward(v);
    for (let q = 0; q < f; q++) outX[q] = v[q]!;
  }

  /** dx for the linear term c + s dc on the current active set: fixed variables and active rows stay put. */
  private sensitivity(dc: Float64Array): Float64Array {
    const { n, F } = this;
    if (dc.length !== n) throw new Error(`the direction has ${dc.length} entries, expected ${n}`);
    const f = this.f, k = this.W.length;
    const rt = new Float64Array(f);
    for (let q = 0; q < f; q++) rt[q] = -dc[F[q]!]!;
    const xF = new Float64Array(f), l = new Float64Array(k);
    if (f) this.solveKKT(k ? this.schur() : null, rt, new Float64Array(k), xF, l);
    const dx = new Float64Array(n);
    for (let q = 0; q < f; q++) dx[F[q]!] = xF[q]!;
    return dx;
  }

  private gradient(): Float64Array {
    const { n, Q, x } = this;
    const g = Float64Array.from(this.c);
    for (let j = 0; j < n; j++) {
      const xj = x[j]!;
      if (xj === 0) continue;
      const off = j * n;
      for (let i = 0; i < n; i++) g[i] = g[i]! + xj * Q[off + i]!;
    }
    return g;
  }

  private result(direction: Float64Array | undefined, warm: boolean): QPSolution {
    const { n, x } = this;
    const nu = new Float64Array(this.me);
    const lambda = new Float64Array(this.m - this.me);
    for (let j = 0; j < this.me; j++) nu[j] = this.inW[j] ? this.mult[j]! : 0;
    for (let j = this.me; j < this.m; j++) lambda[j - this.me] = this.inW[j] ? Math.max(0, this.mult[j]!) : 0;
    const muLower = new Float64Array(n), muUpper = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const st = this.state[i]!, d = this.d[i]!;
      if (st === AT_LB) muLower[i] = Math.max(0, d);
      else if (st === AT_UB) muUpper[i] = Math.max(0, -d);
      else if (st === FIXED) { if (d > 0) muLower[i] = d; else muUpper[i] = -d; }
    }
    const g = this.gradient();
    let objective = 0;
    for (let i = 0; i < n; i++) objective += x[i]! * (0.5 * (g[i]! - this.c[i]!) + this.c[i]!);
    // the factor is handed over, not copied: this solver is done with it
    const factor = new FactorCache(this.Q, n, fingerprint(this.Q, n), this.L, Int32Array.from(this.F.subarray(0, this.f)), this.f, this.updates);
    const activeSet: QPActiveSet = { state: Uint8Array.from(this.state), rows: [...this.W], factor };
    const out: QPSolution = { x: Float64Array.from(x), objective, nu, lambda, muLower, muUpper, iterations: this.iterations, activeSet, warm };
    if (direction) out.dx = this.sensitivity(direction);
    return out;
  }
}

/** In-place Cholesky of a small row-major SPD matrix (lower triangle); false when not positive definite. */
function cholFactor(S: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let s = S[j * k + j]!;
    for (let t = 0; t < j; t++) s -= S[j * k + t]! * S[j * k + t]!;
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    S[j * k + j] = d;
    for (let i = j + 1; i < k; i++) {
      let v = S[i * k + j]!;
      for (let t = 0; t < j; t++) v -= S[i * k + t]! * S[j * k + t]!;
      S[i * k + j] = v / d;
    }
  }
  return true;
}

/** Solves (L L') y = b in place with the factor from cholFactor. */
function cholSolve(S: Float64Array, k: number, b: Float64Array): void {
  for (let i = 0; i < k; i++) { let s = b[i]!; for (let t = 0; t < i; t++) s -= S[i * k + t]! * b[t]!; b[i] = s / S[i * k + i]!; }
  for (let i = k - 1; i >= 0; i--) { let s = b[i]!; for (let t = i + 1; t < k; t++) s -= S[t * k + i]! * b[t]!; b[i] = s / S[i * k + i]!; }
}
