import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { FakeHubSpot } from "../../connectors/hubspot/fake/fake-hubspot.js";

describe("quotesync hubspot setup-properties", () => {
  const fake = new FakeHubSpot({ portalId: 1, appId: 2, clientSecret: "s", accessToken: "pat-setup" });
  beforeAll(async () => {
    await fake.listen();
    process.env.HUBSPOT_ACCESS_TOKEN = "pat-setup";
  });
  afterAll(async () => {
    delete process.env.HUBSPOT_ACCESS_TOKEN;
    await fake.close();
  });

  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) },
      out,
      err,
    };
  }

  it("creates the custom properties through the properties API, and leaves existing ones", async () => {
    const first = io();
    expect(await runCli(["hubspot", "setup-properties", "--base-url", fake.url], first.io as never)).toBe(0);
    expect([...fake.properties.keys()].sort()).toEqual([
      "deals/quotesync_amount_locked",
      "deals/quotesync_approval_reasons",
      "deals/quotesync_approval_required",
      "deals/quotesync_pending_changes",
      "deals/quotesync_synced_quote_id",
      "line_items/quotesync_sync_key",
      "quotes/quotesync_sync",
      "quotes/quotesync_syncing",
    ]);
    expect(first.out.join("")).toContain("line_items.quotesync_sync_key: created");
    const second = io();
    expect(await runCli(["hubspot", "setup-properties", "--base-url", fake.url], second.io as never)).toBe(0);
    expect(second.out.join("")).toContain("line_items.quotesync_sync_key: exists");
    expect(fake.violations).toEqual([]);
  });

  it("needs the token from the environment (exit 2 without it)", async () => {
    const saved = process.env.HUBSPOT_ACCESS_TOKEN;
    delete process.env.HUBSPOT_ACCESS_TOKEN;
    const run = io();
    expect(await runCli(["hubspot", "setup-properties", "--base-url", fake.url], run.io as never)).toBe(2);
    process.env.HUBSPOT_ACCESS_TOKEN = saved;
  });
});
