import { describe, expect, it } from "vitest";
import { formatApart, formatInput, formatLatex, formatNumber, INPUT_DIGITS, TEXT_DIGITS } from "./numbers";

// A valid floating-point number in the sense of HTML, which an <input type=number> accepts as its value.
const HTML_NUMBER = /^-?(\d+|\d*\.\d+)([eE][-+]?\d+)?$/;

describe("formatNumber (plain text)", () => {
  it("writes zero as 0, whatever its sign", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(-0)).toBe("0");
  });

  it("writes small numbers with an exponent, never as 0 (issue 18: ε = 1e-6 read as 0)", () => {
    expect(formatNumber(1e-6)).toBe("1e-6");
    expect(formatNumber(1e-7)).toBe("1e-7");
    expect(formatNumber(-1e-6)).toBe("-1e-6");
    expect(formatNumber(2.5e-4)).toBe("2.5e-4");
    expect(formatNumber(0.0001)).toBe("1e-4");
    expect(formatNumber(1.23456e-5)).toBe("1.235e-5");
    expect(formatNumber(5e-324)).toBe("5e-324");
  });

  it("writes numbers from 0.001 up in plain notation, rounded to significant digits", () => {
    expect(formatNumber(0.001)).toBe("0.001");
    expect(formatNumber(0.25)).toBe("0.25");
    expect(formatNumber(-0.25)).toBe("-0.25");
    expect(formatNumber(0.5)).toBe("0.5");
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(3.14159, 3)).toBe("3.14");
    expect(formatNumber(0.0123456, 2)).toBe("0.012");
  });

  it("hides binary rounding noise", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatNumber(1 - 0.9)).toBe("0.1");
  });

  it("decides plain or exponent on the rounded value", () => {
    // 0.00099996 rounds to 0.001000 at 4 digits, which is written plainly.
    expect(formatNumber(0.00099996)).toBe("0.001");
    // 99.96 rounds to 100 at 3 digits (3 significant digits, plain); 999.96 to 1000, whose last zero
    // would not be significant.
    expect(formatNumber(99.96, 3)).toBe("100");
    expect(formatNumber(999.96, 3)).toBe("1e3");
  });

  it("writes integers below a million in full, whatever the digits", () => {
    expect(formatNumber(1)).toBe("1");
    expect(formatNumber(12)).toBe("12");
    expect(formatNumber(-3)).toBe("-3");
    expect(formatNumber(12345, 2)).toBe("12345");
    expect(formatNumber(999999)).toBe("999999");
  });

  it("writes large numbers with an exponent when plain notation would show insignificant zeros", () => {
    expect(formatNumber(1e6)).toBe("1e6");
    expect(formatNumber(1234567)).toBe("1.235e6");
    expect(formatNumber(-1234567)).toBe("-1.235e6");
    expect(formatNumber(1234567, 7)).toBe("1234567");
    expect(formatNumber(1234.56)).toBe("1235");
    expect(formatNumber(1234.56, 3)).toBe("1.23e3");
    expect(formatNumber(1e21)).toBe("1e21");
    expect(formatNumber(6.02e23)).toBe("6.02e23");
  });

  it("names values that are not finite", () => {
    expect(formatNumber(Number.NaN)).toBe("NaN");
    expect(formatNumber(Infinity)).toBe("∞");
    expect(formatNumber(-Infinity)).toBe("-∞");
  });

  it("keeps the digits within what toPrecision accepts", () => {
    expect(formatNumber(0.123456, 0)).toBe("0.1");
    expect(formatNumber(0.123456, -5)).toBe("0.1");
    expect(formatNumber(0.123456, 1.4)).toBe("0.1");
    expect(formatNumber(0.125, Number.NaN)).toBe("0.125");
    expect(formatNumber(1 / 3, 500)).toBe("0.3333333333333333");
  });

  it("reads back through Number() within the rounding of its digits", () => {
    for (const x of [1e-6, -3.7e-9, 0.012345, 0.5, 7.25, 123.456, 98765.4321, 1234567, 2 ** 40 + 0.5]) {
      const back = Number(formatNumber(x));
      expect(Math.abs(back - x)).toBeLessThanOrEqual(0.5e-3 * Math.abs(x));
    }
  });

  it("has four significant digits by default", () => {
    expect(TEXT_DIGITS).toBe(4);
    expect(formatNumber(2 / 3)).toBe("0.6667");
  });
});

describe("formatLatex (KaTeX)", () => {
  it("writes powers of ten as 10^{k}", () => {
    expect(formatLatex(1e-6)).toBe("10^{-6}");
    expect(formatLatex(1e-7)).toBe("10^{-7}");
    expect(formatLatex(-1e-6)).toBe("-10^{-6}");
    expect(formatLatex(1e6)).toBe("10^{6}");
  });

  it("writes other exponents with a centred dot", () => {
    expect(formatLatex(2.5e-4)).toBe("2.5\\cdot10^{-4}");
    expect(formatLatex(-2.5e-4)).toBe("-2.5\\cdot10^{-4}");
    expect(formatLatex(1234567)).toBe("1.235\\cdot10^{6}");
  });

  it("writes plain numbers as the plain form does", () => {
    expect(formatLatex(0)).toBe("0");
    expect(formatLatex(-0)).toBe("0");
    expect(formatLatex(0.25)).toBe("0.25");
    expect(formatLatex(3)).toBe("3");
    expect(formatLatex(0.1 + 0.2)).toBe("0.3");
    expect(formatLatex(0.001)).toBe("0.001");
  });

  it("writes values that are not finite as symbols", () => {
    expect(formatLatex(Number.NaN)).toBe("\\mathrm{NaN}");
    expect(formatLatex(Infinity)).toBe("\\infty");
    expect(formatLatex(-Infinity)).toBe("-\\infty");
  });
});

describe("formatInput (value boxes)", () => {
  it("shows 1e-6 as 1e-6, which a number box accepts, not a clipped 0.000…", () => {
    expect(formatInput(1e-6)).toBe("1e-6");
    expect(HTML_NUMBER.test(formatInput(1e-6))).toBe(true);
  });

  it("keeps six significant digits", () => {
    expect(INPUT_DIGITS).toBe(6);
    expect(formatInput(0.123456789)).toBe("0.123457");
    expect(formatInput(0.5)).toBe("0.5");
    expect(formatInput(2)).toBe("2");
    expect(formatInput(1.0000004)).toBe("1");
    expect(formatInput(1234567)).toBe("1.23457e6");
  });

  it("gives text a number box accepts for every finite value", () => {
    for (const x of [0, -0, 1e-6, 1e-7, -2.5e-4, 0.3, 9.99, 1e6, 1234567.8, 1e21, -1e-300]) {
      expect(formatInput(x)).toMatch(HTML_NUMBER);
    }
  });
});

describe("formatApart (a changed value next to the one it replaced)", () => {
  it("uses the usual digits when they already tell the values apart", () => {
    expect(formatApart(1e-6, 0)).toBe("1e-6");
    expect(formatApart(0, 1e-6)).toBe("0");
    expect(formatApart(0.5, 0.25)).toBe("0.5");
  });

  it("adds digits until the values read differently", () => {
    expect(formatApart(1.00001e-6, 1e-6)).toBe("1.00001e-6");
    expect(formatApart(0.25001, 0.25)).toBe("0.25001");
    expect(formatApart(0.1 + 0.2, 0.3)).toBe("0.30000000000000004");
  });

  it("writes equal values with the usual digits", () => {
    expect(formatApart(2, 2)).toBe("2");
    expect(formatApart(0.1 + 0.2, 0.1 + 0.2)).toBe("0.3");
    expect(formatApart(0, -0)).toBe("0");
    expect(formatApart(Number.NaN, Number.NaN)).toBe("NaN");
  });
});
