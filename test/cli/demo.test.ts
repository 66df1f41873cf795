import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../cli/demo.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

let h: Awaited<ReturnType<typeof handlerHarness>>;
let server: Server;
let url: string;

beforeAll(async () => {
  h = await handlerHarness();
  server = createLocalHttpServer({ routes: localRoutes });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await h.dispose();
});

describe("npm run demo", () => {
  it("tells the story through the real handlers: trigger, echoes, edits on both sides, a replace, an accepted quote", async () => {
    let timeline = "";
    const io = {
      stdout: (text: string) => {
        timeline += text;
      },
      stderr: () => {},
      stdin: async () => Buffer.alloc(0),
      env: {},
    };
    const status = await runDemo({ url, tenantId: "demo", secrets: DEMO_SECRETS, run: "t1" }, io);
    expect(status).toMatchObject({
      opportunityId: "opp-t1",
      syncedQuoteId: "q-t1-B",
      stage: "Closed Won",
      amount: "8400.00",
      amountLocked: true,
    });
    expect(timeline).toContain("→ CRM: create 2 lines, amount 8500.00 (locked)");
    // Both echoes are recognised: no mirror, no loop.
    expect(timeline.match(/quotesync: no_change, nothing to mirror/g)).toHaveLength(2);
    expect(timeline).toContain("approval required");
    expect(timeline).toContain("→ CPQ: quote stopped syncing (quote q-t1-A)");
    expect(timeline).toContain("stage Closed Won");
  });
});
