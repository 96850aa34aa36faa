// @vitest-environment node
// The committed schema.ts is what openapi-typescript makes of the committed openapi.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

it("src/api/schema.ts is generated from openapi.json (else: make web-client)", () => {
  const dir = mkdtempSync(join(tmpdir(), "confide-schema-"));
  try {
    const fresh = join(dir, "schema.ts");
    const bin = join(root, "node_modules", ".bin", "openapi-typescript");
    execFileSync(bin, [join(root, "openapi.json"), "-o", fresh], { stdio: "pipe" });
    const committed = readFileSync(join(root, "src", "api", "schema.ts"), "utf8");
    expect(readFileSync(fresh, "utf8") === committed, "schema.ts is stale: run make web-client").toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
