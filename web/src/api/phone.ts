// The account's phone number: set it (a code is texted to it), verify it, remove it. A verified
// number can receive sign-in codes by SMS (the MFA step's "Text me a code").
import { api, unwrap, type Schemas } from "./client";
import { ApiError } from "./errors";

export type Phone = Schemas["PhoneOut"];

/** The account's phone, or null when it has none (404 `no_phone`; a server without the
 * phone routes answers 404 too, and has no phone either). */
export async function getPhone(): Promise<Phone | null> {
  try {
    return await unwrap(api.GET("/api/auth/phone"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Set the number (replacing any): stored unverified, and a 6-digit code is texted to it. */
export async function setPhone(number: string): Promise<Phone> {
  return unwrap(api.PUT("/api/auth/phone", { body: { number } }));
}

export async function verifyPhone(code: string): Promise<Phone> {
  return unwrap(api.POST("/api/auth/phone/verify", { body: { code } }));
}

export async function removePhone(): Promise<void> {
  await unwrap(api.DELETE("/api/auth/phone"));
}
