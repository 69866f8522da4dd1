/** Types for quadprog 1.6 (Goldfarb-Idnani dual active set, a port of R's quadprog; arrays are 1-indexed). */
declare module 'quadprog' {
  export function solveQP(
    Dmat: number[][],
    dvec: number[],
    Amat: number[][],
    bvec?: number[],
    meq?: number,
    factorized?: number[],
  ): { solution: number[]; Lagrangian: number[]; value: number[]; iterations: number[]; iact: number[]; message: string };
}
