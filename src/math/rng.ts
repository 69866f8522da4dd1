/**
 * The project's seeded generator: sfc32 seeded through splitmix32. Fast, identical on every platform, and the same
 * words for a seed forever (the synthetic market and the bootstrap's resamples depend on it).
 */

// Bound once: inside a vm context (jest) a global lookup in a hot path costs (the bootstrap draws millions).
const { floor, sqrt, log, sin, cos, PI } = Math;

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | undefined;
  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split(); this.b = split(); this.c = split(); this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return floor(this.next() * n);
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = sqrt(-2 * log(u));
    this.spare = r * sin(2 * PI * v);
    return r * cos(2 * PI * v);
  }
  /** Student-t with 4 degrees of freedom, scaled to unit variance. */
  t4(): number {
    let chi = 0;
    for (let k = 0; k < 4; k++) { const z = this.normal(); chi += z * z; }
    return (this.normal() / sqrt(chi / 4)) * Math.SQRT1_2;
  }
}

/**
 * The seed of stream `b` of a run seeded `seed` (one stream per bootstrap resample): the b-th resample is the same
 * whichever thread draws it, so results do not depend on how the work is split.
 */
export const streamSeed = (seed: number, b: number): number => (Math.imul(seed >>> 0, 1000003) + b) >>> 0;
