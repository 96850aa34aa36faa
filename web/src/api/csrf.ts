// The CSRF token is the one value of the session that scripts may read (by design: double
// submit). It lives in a readable cookie; the tokens themselves stay in HttpOnly cookies.
const CSRF_COOKIES = ["__Host-confide_csrf", "confide_csrf"];

let remembered: string | null = null;

/** The token to echo in X-CSRF-Token: the cookie (always current), else the last one seen. */
export function csrfToken(): string | null {
  const cookies = typeof document === "undefined" ? "" : document.cookie;
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (CSRF_COOKIES.includes(name)) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return remembered;
}

export function rememberCsrfToken(token: string | null): void {
  remembered = token;
}

export const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
