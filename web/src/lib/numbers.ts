// The one number formatter of the page. Every number a person reads (rule parameters in formulas,
// value boxes, captions, headers, the HTML report, chart labels) goes through here, so a small value
// such as ε = 1e-6 never reads as 0: numbers are rounded to significant digits, not to decimals.
//
// Two forms of the same rounding:
// - plain text, which Number() and an <input type=number> read back: 1e-6, 2.5e-4, 0.25, 1.235e6
// - LaTeX for KaTeX: 10^{-6}, 2.5\cdot10^{-4}, 0.25, 1.235\cdot10^{6}
//
// Rules: 0 (and −0) is "0"; integers below a million print in full; any other number is rounded to
// `digits` significant digits and written with an exponent when it is below 0.001 or when plain
// notation would show zeros that are not significant (1234.5 at 3 digits is 1.23e3, not 1230).

/** Significant digits of numbers shown in text (captions, headers, formulas, the report). */
export const TEXT_DIGITS = 4;
/** Significant digits of a value box: enough that typing a value back in never loses what a slider set. */
export const INPUT_DIGITS = 6;

type Parts =
  | { kind: "special"; text: string; latex: string }
  | { kind: "plain"; text: string }
  | { kind: "exp"; negative: boolean; mantissa: string; exponent: number };

function clampDigits(digits: number): number {
  return Math.max(1, Math.min(21, Math.round(Number.isFinite(digits) ? digits : TEXT_DIGITS)));
}

function parts(x: number, digits: number): Parts {
  if (Number.isNaN(x)) return { kind: "special", text: "NaN", latex: "\\mathrm{NaN}" };
  if (x === Infinity) return { kind: "special", text: "∞", latex: "\\infty" };
  if (x === -Infinity) return { kind: "special", text: "-∞", latex: "-\\infty" };
  if (x === 0) return { kind: "plain", text: "0" };
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return { kind: "plain", text: String(x) };
  const d = clampDigits(digits);
  const r = Number(x.toPrecision(d));
  // toExponential() without an argument writes as many mantissa digits as r needs (at most d).
  const [m, e] = r.toExponential().split("e");
  const exponent = Number(e);
  if (exponent < -3 || exponent >= d) return { kind: "exp", negative: r < 0, mantissa: m.replace(/^-/, ""), exponent };
  return { kind: "plain", text: String(r) };
}

/** A number as plain text with `digits` significant digits: 1e-6, 2.5e-4, 0.25, 12, 1.235e6. */
export function formatNumber(x: number, digits: number = TEXT_DIGITS): string {
  const p = parts(x, digits);
  if (p.kind === "special" || p.kind === "plain") return p.text;
  return `${p.negative ? "-" : ""}${p.mantissa}e${p.exponent}`;
}

/** A number as KaTeX source: 10^{-6}, 2.5\cdot10^{-4}, 0.25, 0, 12. */
export function formatLatex(x: number, digits: number = TEXT_DIGITS): string {
  const p = parts(x, digits);
  if (p.kind === "special") return p.latex;
  if (p.kind === "plain") return p.text;
  const power = `10^{${p.exponent}}`;
  return `${p.negative ? "-" : ""}${p.mantissa === "1" ? power : `${p.mantissa}\\cdot${power}`}`;
}

/** The text of a value box (an <input type=number>): plain form with INPUT_DIGITS digits. */
export function formatInput(x: number): string {
  return formatNumber(x, INPUT_DIGITS);
}

/**
 * `x` as plain text with at least `digits` significant digits, and more when needed for it to read
 * differently from `other` (a changed value never reads as the value it replaced). Equal numbers give
 * the `digits` form.
 */
export function formatApart(x: number, other: number, digits: number = TEXT_DIGITS): string {
  let d = clampDigits(digits);
  if (Object.is(x, other) || x === other) return formatNumber(x, d);
  while (d < 17 && formatNumber(x, d) === formatNumber(other, d)) d++;
  return formatNumber(x, d);
}
