// Passkeys (WebAuthn): the options the server sends carry binary fields as base64url strings;
// navigator.credentials wants ArrayBuffers, and the answer goes back as base64url again.
import { api, unwrap, type Schemas } from "./client";
import { errorMessage } from "./errors";
import { session } from "./session";

export type Passkey = Schemas["PasskeyOut"];

/** The query key of the caller's passkeys (the settings list, the step-up dialog). */
export const PASSKEYS_KEY = ["passkeys"] as const;

type Json = Record<string, unknown>;

export function toBuffer(value: string): ArrayBuffer {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(value.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

export function toBase64url(buffer: ArrayBuffer | ArrayBufferView): string {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

interface Descriptor {
  id: string;
  type: string;
  transports?: string[];
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] {
  return ((list as Descriptor[] | undefined) ?? []).map((d) => ({
    ...d,
    type: "public-key",
    id: toBuffer(d.id),
    transports: d.transports as AuthenticatorTransport[] | undefined,
  }));
}

/** The server's creation options JSON as navigator.credentials.create() takes it. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json.user as { id: string; name: string; displayName: string };
  return {
    ...(json as unknown as PublicKeyCredentialCreationOptions),
    challenge: toBuffer(json.challenge as string),
    user: { ...user, id: toBuffer(user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

/** The server's request options JSON as navigator.credentials.get() takes it. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  return {
    ...(json as unknown as PublicKeyCredentialRequestOptions),
    challenge: toBuffer(json.challenge as string),
    allowCredentials: descriptors(json.allowCredentials),
  };
}

/** A PublicKeyCredential as the JSON the server verifies (binary fields base64url). */
export function credentialJson(credential: PublicKeyCredential): Json {
  const response = credential.response;
  const out: Json = { clientDataJSON: toBase64url(response.clientDataJSON) };
  if ("attestationObject" in response) {
    const attestation = response as AuthenticatorAttestationResponse;
    out.attestationObject = toBase64url(attestation.attestationObject);
    out.transports = typeof attestation.getTransports === "function" ? attestation.getTransports() : [];
  } else {
    const assertion = response as AuthenticatorAssertionResponse;
    out.authenticatorData = toBase64url(assertion.authenticatorData);
    out.signature = toBase64url(assertion.signature);
    if (assertion.userHandle) out.userHandle = toBase64url(assertion.userHandle);
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: out,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

/** A cancelled browser prompt is the user's choice, not an error worth a red box. */
export function passkeyErrorMessage(error: unknown): string {
  if (error instanceof DOMException && error.name === "NotAllowedError") {
    return "The passkey request was cancelled or timed out.";
  }
  return errorMessage(error);
}

export function passkeysSupported(): boolean {
  return typeof window !== "undefined" && typeof window.PublicKeyCredential === "function";
}

export async function listPasskeys(): Promise<Passkey[]> {
  // One page is every passkey anyone has (a handful): no "load more" here.
  return (await unwrap(api.GET("/api/auth/passkeys", { params: { query: { limit: 100 } } }))).items;
}

/** Create a passkey on this device (the browser asks the user) and register it. */
export async function addPasskey(name: string): Promise<Passkey> {
  const options = (await unwrap(api.POST("/api/auth/passkeys/register/options"))) as Json;
  const credential = (await navigator.credentials.create({
    publicKey: creationOptions(options),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error("No passkey was created.");
  return unwrap(
    api.POST("/api/auth/passkeys/register/verify", {
      body: { credential: credentialJson(credential), ...(name.trim() ? { name: name.trim() } : {}) },
    }),
  );
}

export async function renamePasskey(id: string, name: string): Promise<Passkey> {
  return unwrap(api.PATCH("/api/auth/passkeys/{passkey_id}", { params: { path: { passkey_id: id } }, body: { name } }));
}

export async function deletePasskey(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/auth/passkeys/{passkey_id}", { params: { path: { passkey_id: id } } }));
}

/** Step-up with one of the caller's passkeys (the browser asks for the PIN or face): the
 * session counts as freshly signed in, as after `POST /api/auth/reauth`. */
export async function reauthWithPasskey(): Promise<void> {
  const options = (await unwrap(api.POST("/api/auth/passkeys/reauth/options"))) as Json;
  const credential = (await navigator.credentials.get({
    publicKey: requestOptions(options),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error("No passkey was chosen.");
  await unwrap(api.POST("/api/auth/passkeys/reauth/verify", { body: { credential: credentialJson(credential) } }));
}

async function assertion(mfaToken: string | null): Promise<Json> {
  const options = (await unwrap(
    api.POST("/api/auth/passkeys/authenticate/options", { body: mfaToken ? { mfa_token: mfaToken } : {} }),
  )) as Json;
  const credential = (await navigator.credentials.get({
    publicKey: requestOptions(options),
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error("No passkey was chosen.");
  return credentialJson(credential);
}

/** Sign in with a passkey alone (the browser offers this site's passkeys); cookie mode. */
export async function signInWithPasskey(): Promise<void> {
  const credential = await assertion(null);
  const grant = await unwrap(
    api.POST("/api/auth/passkeys/authenticate/verify", { body: { credential, mode: "cookie" } }),
  );
  session.started({
    expires_in: grant.expires_in,
    csrf_token: "csrf_token" in grant ? grant.csrf_token : null,
  });
}

/** Finish a password sign-in's MFA step with one of the account's passkeys. */
export async function verifyMfaWithPasskey(mfaToken: string): Promise<void> {
  const credential = await assertion(mfaToken);
  const grant = await unwrap(
    api.POST("/api/auth/passkeys/authenticate/verify", { body: { credential, mfa_token: mfaToken } }),
  );
  session.started({
    expires_in: grant.expires_in,
    csrf_token: "csrf_token" in grant ? grant.csrf_token : null,
  });
}
