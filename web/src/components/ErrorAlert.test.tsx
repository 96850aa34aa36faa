import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { errorMessage, problemError } from "../api/errors";
import { ErrorAlert } from "./ErrorAlert";

describe("ErrorAlert", () => {
  it("shows a 429's wait", () => {
    const error = problemError(429, { status: 429, code: "rate_limited", detail: "Too many messages.", retry_after: 42 });
    render(<ErrorAlert message={errorMessage(error)} />);
    expect(screen.getByRole("alert").textContent).toBe("Too many requests — try again in 42 s.");
  });
});
