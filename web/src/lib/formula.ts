// The segment's rule as LaTeX: Eq. 5 of the paper with the ten numbers filled in and the terms that
// vanish left out, so the formula reads like the preset it matches.
import type { RuleParams } from "../api/types";
import { formatLatex } from "./numbers";

/** A parameter in the formula: significant digits, so ε = 1e-6 reads 10^{-6}, never 0. */
function num(x: number): string {
  return formatLatex(x);
}

function coef(x: number, body: string): string {
  return x === 1 ? body : `${num(x)}\\,${body}`;
}

/** θ0 + θ1 a_i, with zero terms dropped. */
function activation(p: RuleParams): string {
  const terms: string[] = [];
  if (p.theta0 !== 0) terms.push(num(p.theta0));
  if (p.theta1 !== 0) terms.push(coef(p.theta1, "a_i"));
  return terms.join(" + ");
}

/** γ0 + γ1 w + γ1± w± + γ2 w², with zero terms dropped. */
function weight(p: RuleParams, sign: "+" | "-"): string {
  const terms: string[] = [];
  if (p.gamma0 !== 0) terms.push(num(p.gamma0));
  if (p.gamma1 !== 0) terms.push(coef(p.gamma1, "w_{ij}"));
  const g = sign === "+" ? p.gamma1p : p.gamma1n;
  if (g !== 0) terms.push(coef(g, `w_{ij}^{${sign}}`));
  if (p.gamma2 !== 0) terms.push(coef(p.gamma2, "w_{ij}^2"));
  return terms.join(" + ") || "0";
}

function product(a: string, w: string): string {
  const wrap = (s: string) => (s.includes(" + ") ? `(${s})` : s);
  if (a === "1") return w;
  if (w === "1") return a;
  return `${wrap(a)}\\,${wrap(w)}`;
}

function fraction(p: RuleParams, sign: "+" | "-"): string {
  const z = product(activation(p), weight(p, sign));
  const sum = `\\sum_i ${z.includes(" + ") && !z.startsWith("(") ? `(${z})` : z}`;
  const den = p.epsilon !== 0 ? `${num(p.epsilon)} + ${sum}` : sum;
  return `\\frac{${z}}{${den}}`;
}

export function ruleLatex(p: RuleParams): string {
  const pos = p.alpha !== 0 ? coef(p.alpha, fraction(p, "+")) : "";
  const neg = p.beta !== 0 ? `${coef(p.beta, fraction(p, "-"))}` : "";
  let body: string;
  if (pos && neg) body = `\\left[${pos} - ${neg}\\right]`;
  else if (pos) body = pos;
  else body = `-${neg}`;
  return `R_i = \\sum_j ${body}\\, R_j`;
}
