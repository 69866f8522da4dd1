/**
 * The Ledoit & Wolf (2008) test of a Sharpe-ratio difference, "Robust performance hypothesis testing with the
 * Sharpe ratio" (J. Empirical Finance 15), HAC version, with the conventions of the authors' own code (Wolf's R
 * `compute.se.Parzen.pw`): the delta method on v = (μ1, μ2, E[r1²], E[r2²]), a Parzen kernel with Andrews' (1991)
 * AR(1) plug-in bandwidth, the T/(T − 4) small-sample factor and, by default, VAR(1) prewhitening (Andrews &
 * Monahan 1992) with the VAR's singular values capped at 0.97.
 *
 *   Δ = SR1 − SR2 (per period, std ddof 1);  ∇f = (γ1/σ1³, −γ2/σ2³, −μ1/(2σ1³), μ2/(2σ2³)) at divisor-T moments
 *   y_t = (r1 − μ1, r2 − μ2, r1² − γ1, r2² − γ2);  Γ(j) = (1/T) Σ y_t y'_{t−j}
 *   Ψ = T/(T−4) [Γ(0) + Σ_j k(j/S)(Γ(j) + Γ(j)')];  se = √(∇f' Ψ ∇f / T);  p = 2Φ(−|Δ|/se)
 *
 * Strategy 1 is the cell, strategy 2 the champion; both series are aligned and finite.
 */
import { inverse, Matrix, SVD } from 'ml-matrix';
import { normalCdf } from './normal.js';

export interface SharpeDifferenceTest {
  /** SR1 − SR2, per period. */
  delta: number;
  se: number;
  z: number;
  /** Two-sided p-value of Δ = 0. */
  p: number;
  /** The kernel bandwidth S used. */
  bandwidth: number;
  /** Whether the VAR(1) prewhitening was applied (it is skipped when the VAR cannot be fitted: collinear series). */
  prewhitened: boolean;
}

const K = 4;

function meanOf(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

function sharpe(x: ArrayLike<number>): number {
  const m = meanOf(x);
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i] - m) ** 2;
  return m / Math.sqrt(ss / (x.length - 1));
}

const parzen = (x: number): number => {
  const a = Math.abs(x);
  return a <= 0.5 ? 1 - 6 * a * a + 6 * a * a * a : a <= 1 ? 2 * (1 - a) ** 3 : 0;
};

/** Γ(j) of the rows of a T × 4 row-major matrix: (1/T) Σ_{t ≥ j} y_t y'_{t−j}. */
function gamma(V: Float64Array, T: number, j: number): Float64Array {
  const G = new Float64Array(K * K);
  for (let t = j; t < T; t++)
    for (let a = 0; a < K; a++) {
      const va = V[t * K + a];
      for (let b = 0; b < K; b++) G[a * K + b] += va * V[(t - j) * K + b];
    }
  for (let i = 0; i < G.length; i++) G[i] /= T;
  return G;
}

/** Andrews' α̂(2) from an OLS AR(1) with intercept per column, equal weights. */
function alphaHat(V: Float64Array, T: number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < K; i++) {
    let mx = 0;
    let my = 0;
    for (let t = 1; t < T; t++) {
      mx += V[(t - 1) * K + i];
      my += V[t * K + i];
    }
    mx /= T - 1;
    my /= T - 1;
    let sxy = 0;
    let sxx = 0;
    for (let t = 1; t < T; t++) {
      const dx = V[(t - 1) * K + i] - mx;
      sxy += dx * (V[t * K + i] - my);
      sxx += dx * dx;
    }
    const rho = sxy / sxx;
    const c = my - rho * mx;
    let s2 = 0;
    for (let t = 1; t < T; t++) s2 += (V[t * K + i] - c - rho * V[(t - 1) * K + i]) ** 2;
    s2 /= T - 1;
    num += (4 * rho * rho * s2 * s2) / (1 - rho) ** 8;
    den += (s2 * s2) / (1 - rho) ** 4;
  }
  return num / den;
}

/** The Parzen HAC estimate of the long-run covariance of the rows, with the T/(T − 4) factor. */
function psiParzen(V: Float64Array, T: number): { psi: Float64Array; bandwidth: number } {
  const S = Math.min(2.6614 * (alphaHat(V, T) * T) ** 0.2, T - 1);
  const psi = gamma(V, T, 0);
  for (let j = 1; j < S; j++) {
    const w = parzen(j / S);
    if (w === 0) continue;
    const G = gamma(V, T, j);
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) psi[a * K + b] += w * (G[a * K + b] + G[b * K + a]);
  }
  const f = T / (T - 4);
  for (let i = 0; i < psi.length; i++) psi[i] *= f;
  return { psi, bandwidth: S };
}

const square = (x: Float64Array): Matrix => new Matrix(Array.from({ length: K }, (_, a) => Array.from(x.subarray(a * K, (a + 1) * K))));

/** The HAC test of SR(r1) − SR(r2) = 0 on aligned series. */
export function sharpeDifferenceTest(r1: ArrayLike<number>, r2: ArrayLike<number>, opts: { prewhiten?: boolean } = {}): SharpeDifferenceTest {
  const T = r1.length;
  let same = true;
  for (let t = 0; t < T && same; t++) same = r1[t] === r2[t];
  if (same) return { delta: 0, se: 0, z: 0, p: 1, bandwidth: 0, prewhitened: false };
  const delta = sharpe(r1) - sharpe(r2);
  const m1 = meanOf(r1);
  const m2 = meanOf(r2);
  let g1 = 0;
  let g2 = 0;
  for (let t = 0; t < T; t++) {
    g1 += r1[t] * r1[t];
    g2 += r2[t] * r2[t];
  }
  g1 /= T;
  g2 /= T;
  const c1 = (g1 - m1 * m1) ** 1.5;
  const c2 = (g2 - m2 * m2) ** 1.5;
  const grad = [g1 / c1, -g2 / c2, -0.5 * (m1 / c1), 0.5 * (m2 / c2)];
  const V = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    V[t * K] = r1[t] - m1;
    V[t * K + 1] = r2[t] - m2;
    V[t * K + 2] = r1[t] * r1[t] - g1;
    V[t * K + 3] = r2[t] * r2[t] - g2;
  }
  let psi: Float64Array | undefined;
  let bandwidth = 0;
  let prewhitened = false;
  if (opts.prewhiten) {
    try {
      ({ psi, bandwidth } = prewhitenedPsi(V, T));
      prewhitened = [...psi].every(Number.isFinite);
    } catch {
      prewhitened = false; // a singular VAR fit (collinear series): the plain estimator below
    }
  }
  if (!prewhitened) ({ psi, bandwidth } = psiParzen(V, T));
  let q = 0;
  for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) q += grad[a] * psi![a * K + b] * grad[b];
  const se = Math.sqrt(q / T);
  // Equal Sharpe ratios to rounding (a copy of the other series, scaled): nothing to test.
  if (Math.abs(delta) <= 1e-12) return { delta, se, z: 0, p: 1, bandwidth, prewhitened };
  const z = delta / se;
  return { delta, se, z, p: 2 * normalCdf(-Math.abs(z)), bandwidth, prewhitened };
}

/** Ψ by VAR(1) prewhitening: fit without intercept, singular values capped at 0.97, residuals' Ψ recoloured. */
function prewhitenedPsi(V: Float64Array, T: number): { psi: Float64Array; bandwidth: number } {
  // The normal equations of y_t = A y_{t−1} + e_t (t = 1..T−1), summed directly: X'X and X'Y are 4 × 4.
  const XtX = new Float64Array(K * K);
  const XtY = new Float64Array(K * K);
  for (let t = 1; t < T; t++)
    for (let a = 0; a < K; a++) {
      const xa = V[(t - 1) * K + a];
      for (let b = 0; b < K; b++) {
        XtX[a * K + b] += xa * V[(t - 1) * K + b];
        XtY[a * K + b] += xa * V[t * K + b];
      }
    }
  const xtx = square(XtX);
  const sv = new SVD(xtx).diagonal;
  if (!(Math.min(...sv) > 1e-12 * Math.max(...sv))) throw new RangeError('collinear series: the VAR(1) cannot be fitted');
  const At = inverse(xtx).mmul(square(XtY)); // Y ≈ X A'
  const svd = new SVD(At.transpose());
  const capped = Matrix.diag(svd.diagonal.map((d) => Math.min(d, 0.97)));
  const A = svd.leftSingularVectors.mmul(capped).mmul(svd.rightSingularVectors.transpose()).to2DArray();
  const E = new Float64Array((T - 1) * K);
  for (let t = 1; t < T; t++)
    for (let a = 0; a < K; a++) {
      let fit = 0;
      for (let b = 0; b < K; b++) fit += A[a][b] * V[(t - 1) * K + b];
      E[(t - 1) * K + a] = V[t * K + a] - fit;
    }
  const res = psiParzen(E, T - 1);
  const D = inverse(Matrix.eye(K).sub(new Matrix(A)));
  const P = D.mmul(square(res.psi)).mmul(D.transpose());
  return { psi: Float64Array.from(P.to1DArray()), bandwidth: res.bandwidth };
}
