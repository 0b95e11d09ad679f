import { describe, expect, it } from "vitest";
import { describeAccountError, passwordProblem, pinProblem } from "./account";
import { ApiError } from "./errors";

describe("pinProblem (the same rules as identity's pin_problem)", () => {
  it.each([
    ["1234", "straight run"],
    ["4321", "straight run"],
    ["9012", "straight run"],
    ["8901", "straight run"],
    ["1111", "one digit repeated"],
    ["12a4", "4 to 8 digits"],
    ["123", "4 to 8 digits"],
    ["123456789", "4 to 8 digits"],
    ["", "4 to 8 digits"],
  ])("refuses %s", (pin, words) => {
    expect(pinProblem(pin)).toContain(words);
  });

  it.each(["2580", "90125", "4829", "13579"])("accepts %s", (pin) => {
    expect(pinProblem(pin)).toBeNull();
  });
});

describe("passwordProblem (the same rules as identity's password_problem)", () => {
  it("asks for 12 characters or more, at most 256", () => {
    expect(passwordProblem("short")).toBe("The new password must be at least 12 characters.");
    expect(passwordProblem("x".repeat(3) + "abcdefghijklm".repeat(20))).toBe("The new password must be at most 256 characters.");
  });

  it("refuses one or two characters repeated", () => {
    expect(passwordProblem("abababababab")).toContain("one or two characters repeated");
    expect(passwordProblem("abcabcabcabc")).toContain("one or two characters repeated");
    expect(passwordProblem("abcdabcdabcd")).toBeNull();
  });

  it("refuses the account's email or name inside it", () => {
    const own = { email: "robin.k@example.com", name: "Robin" };
    expect(passwordProblem("my-robin.k-password", own)).toContain("your email or name");
    expect(passwordProblem("hello ROBIN hello", own)).toContain("your email or name");
    expect(passwordProblem("quiet harbour lights", own)).toBeNull();
  });
});

describe("describeAccountError", () => {
  it("says the current password was wrong and nothing changed", () => {
    const text = describeAccountError(new ApiError(403, "your current password is not right"), "change the password");
    expect(text).toMatch(/current password is not right, so nothing was changed/);
  });

  it("says the account is locked and when to try again", () => {
    const error = new ApiError(403, "too many wrong passwords, so the account is locked for a while: try again in 14 minutes");
    expect(describeAccountError(error, "set the PIN")).toBe(
      "Too many wrong passwords: your account is locked for a while. Nothing was changed. Try again in 14 minutes.",
    );
  });

  it("passes the rest to describeError", () => {
    expect(describeAccountError(new ApiError(0, "no answer"), "set the PIN")).toMatch(/^No answer from the server while trying to set the PIN/);
  });
});
