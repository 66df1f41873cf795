import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import { InvalidPipelineCursor, readPipelinePage } from "../../domain/pipeline/read-pipeline.js";
import type { SyncStore } from "../../domain/store.js";
import { demoTenant } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createTestTable, scanAll, type TestTable } from "../support/dynamo.js";
import {
  at,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

const tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });

/** The same contract on both stores: the pipeline list follows the opportunity headers' commits. */
for (const kind of ["dynamodb", "memory"] as const) {
  describe(`the pipeline list of opportunities (${kind})`, () => {
    let table: TestTable | undefined;
    let store: SyncStore;
    let engine: SyncEngine;
    let keys = 0;
    const crm = (event: unknown) => engine.handleCrmEvent(tenant, CrmEvent.parse(event));
    const cpq = (event: unknown) => engine.handleCpqEvent(tenant, CpqEvent.parse(event));
    const ids = async (stage?: string) => (await store.listOpportunityIds("demo", null, 100, stage)).entries;

    beforeAll(async () => {
      if (kind === "dynamodb") {
        table = await createTestTable();
        store = new DynamoSyncStore({
          doc: DynamoDBDocumentClient.from(table.client),
          tableName: table.tableName,
        });
      } else store = new InMemorySyncStore();
      engine = new SyncEngine({
        store,
        clock: () => Date.parse(at(10_000)),
        newSyncKey: () => `sk-${++keys}`,
      });
      await store.putTenant(tenant);
    });
    afterAll(async () => {
      await table?.dispose();
    });

    it("lists known opportunities in id order, by stage too, and drops deleted ones", async () => {
      await crm(opportunityUpserted("o-b", { stage: "Negotiation" }, { occurredAt: at(1) }));
      await crm(opportunityUpserted("o-a", { stage: "Proposal" }, { occurredAt: at(2) }));
      // Lines before their opportunity: kept, but not an opportunity of the pipeline yet.
      await crm(opportunityLinesUpserted("o-c", [line("l1")], { occurredAt: at(3) }));
      expect(await ids()).toEqual(["o-a", "o-b"]);
      expect(await ids("Proposal")).toEqual(["o-a"]);
      expect(await ids("Closed Won")).toEqual([]);

      await crm(opportunityUpserted("o-b", { stage: "Proposal" }, { occurredAt: at(4) }));
      await crm(opportunityUpserted("o-c", { stage: "Negotiation" }, { occurredAt: at(5) }));
      expect(await ids("Proposal")).toEqual(["o-a", "o-b"]);
      expect(await ids("Negotiation")).toEqual(["o-c"]);
      expect(await ids()).toEqual(["o-a", "o-b", "o-c"]);

      await crm({
        eventId: "del-a",
        type: "opportunity.deleted",
        occurredAt: at(6),
        data: { opportunityId: "o-a" },
      });
      expect(await ids()).toEqual(["o-b", "o-c"]);
      expect(await ids("Proposal")).toEqual(["o-b"]);
    });

    it("pages with an exclusive `after`", async () => {
      const first = await store.listOpportunityIds("demo", null, 1);
      expect(first).toEqual({ entries: ["o-b"], next: "o-b" });
      const second = await store.listOpportunityIds("demo", "o-b", 1);
      expect(second.entries).toEqual(["o-c"]);
      const last = await store.listOpportunityIds("demo", "o-c", 1);
      expect(last).toEqual({ entries: [], next: null });
    });

    it("reads a page of the pipeline with synced quotes and the needs-attention view", async () => {
      await cpq(quoteUpserted("q-c", "o-c", {}, { occurredAt: at(7) }));
      await cpq(quoteLinesUpserted("q-c", [line("ql1", { discountPercent: "30" })], { occurredAt: at(8) }));
      await engine.startSync(tenant, "q-c", {});
      const all = await readPipelinePage(
        store,
        tenant,
        { view: "all", after: null, limit: 50 },
        Date.parse(at(9)),
      );
      expect(all.rows.map((row) => [row.opportunityId, row.syncedQuoteId, row.amountLocked])).toEqual([
        ["o-b", null, false],
        ["o-c", "q-c", true],
      ]);
      const attention = await readPipelinePage(
        store,
        tenant,
        { view: "attention", after: null, limit: 50 },
        Date.parse(at(9)),
      );
      expect(
        attention.rows.map((row) => [row.opportunityId, row.attention.map((item) => item.kind)]),
      ).toEqual([["o-c", ["approval_required"]]]);
    });

    it("sorts by stage, amount and last change, ties by id, and pages a sorted view by its cursor", async () => {
      const other = { ...tenant, tenantId: "sorting" };
      await store.putTenant(other);
      const deals: Array<[string, string, string | null, number]> = [
        ["s-1", "Proposal", "1200.50", 31],
        ["s-2", "Negotiation", "99.99", 32],
        ["s-3", "Proposal", null, 33],
        ["s-4", "Closed Won", "1200.50", 34],
        ["s-5", "Negotiation", "15000", 35],
      ];
      for (const [id, stage, amount, minute] of deals) {
        await engine.handleCrmEvent(
          other,
          CrmEvent.parse(opportunityUpserted(id, { stage, amount }, { occurredAt: at(minute) })),
        );
      }
      const order = async (by: "stage" | "amount" | "changed", direction: "asc" | "desc", stage?: string) => {
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const page = await readPipelinePage(
            store,
            other,
            { view: "all", after, limit: 2, sort: { by, direction }, ...(stage ? { stage } : {}) },
            Date.parse(at(40)),
          );
          seen.push(...page.rows.map((row) => row.opportunityId));
          if (page.next === null) return seen;
          after = page.next;
        }
        throw new Error("paging did not end");
      };
      // Exact decimals (15000 > 1200.50 > 99.99), a missing amount last either way, ties by id.
      expect(await order("amount", "desc")).toEqual(["s-5", "s-1", "s-4", "s-2", "s-3"]);
      expect(await order("amount", "asc")).toEqual(["s-2", "s-1", "s-4", "s-5", "s-3"]);
      expect(await order("stage", "asc")).toEqual(["s-4", "s-2", "s-5", "s-1", "s-3"]);
      expect(await order("changed", "desc")).toEqual(["s-5", "s-4", "s-3", "s-2", "s-1"]);
      expect(await order("amount", "desc", "Proposal")).toEqual(["s-1", "s-3"]);
      // A row that moves while paging keeps the pages apart: the cursor holds the value, not a position.
      const first = await readPipelinePage(
        store,
        other,
        { view: "all", after: null, limit: 2, sort: { by: "amount", direction: "desc" } },
        Date.parse(at(40)),
      );
      await engine.handleCrmEvent(
        other,
        CrmEvent.parse(
          opportunityUpserted("s-2", { stage: "Negotiation", amount: "20000" }, { occurredAt: at(41) }),
        ),
      );
      const second = await readPipelinePage(
        store,
        other,
        { view: "all", after: first.next, limit: 10, sort: { by: "amount", direction: "desc" } },
        Date.parse(at(42)),
      );
      expect([...first.rows, ...second.rows].map((row) => row.opportunityId)).toEqual([
        "s-5",
        "s-1",
        "s-4",
        "s-3",
      ]);
      await expect(
        readPipelinePage(
          store,
          other,
          { view: "all", after: "s-1", limit: 2, sort: { by: "amount", direction: "desc" } },
          Date.parse(at(40)),
        ),
      ).rejects.toBeInstanceOf(InvalidPipelineCursor);
    });

    if (kind === "dynamodb") {
      it("writes the list item only when the listing changes, and for headers written before the list", async () => {
        const listWrites: unknown[] = [];
        table?.client.middlewareStack.add(
          (next) => async (args) => {
            const items = (
              args.input as { TransactItems?: Array<Record<string, { Key?: unknown; Item?: unknown }>> }
            ).TransactItems;
            for (const item of items ?? []) {
              const action = item.Put ?? item.Delete;
              const key = (action?.Item ?? action?.Key) as { pk?: unknown } | undefined;
              // Marshalled ({S: ...}) or not, depending on where the stack sees it.
              const pk = typeof key?.pk === "object" ? (key.pk as { S?: string }).S : key?.pk;
              if (pk === "T#demo#OPPS") listWrites.push(item);
            }
            return next(args);
          },
          { step: "initialize", name: "listWrites" },
        );
        // The list carries the last change (what the page sorts by): a rename rewrites it.
        await crm(opportunityUpserted("o-b", { stage: "Proposal", name: "Renamed" }, { occurredAt: at(20) }));
        expect(listWrites).toHaveLength(1);
        expect((await store.listPipelineEntries("demo")).find((entry) => entry.id === "o-b")?.changedAt).toBe(
          Date.parse(at(20)),
        );
        await crm(opportunityUpserted("o-b", { stage: "Closed Won" }, { occurredAt: at(21) }));
        expect(listWrites).toHaveLength(2);
        expect(await ids("Closed Won")).toEqual(["o-b"]);

        // A header from before the list: no `listing`, no list item. Its next write lists it.
        const doc = DynamoDBDocumentClient.from(table?.client as NonNullable<typeof table>["client"]);
        await doc.send(
          new UpdateCommand({
            TableName: table?.tableName,
            Key: { pk: "T#demo#O#o-b", sk: "H" },
            UpdateExpression: "REMOVE listing",
          }),
        );
        await doc.send(
          new DeleteCommand({ TableName: table?.tableName, Key: { pk: "T#demo#OPPS", sk: "o-b" } }),
        );
        expect(await ids()).toEqual(["o-c"]);
        await crm(opportunityUpserted("o-b", { stage: "Closed Won", name: "Again" }, { occurredAt: at(22) }));
        expect(await ids()).toEqual(["o-b", "o-c"]);
        expect(listWrites).toHaveLength(3);
        await crm(opportunityUpserted("o-b", { stage: "Proposal" }, { occurredAt: at(23) }));
        expect(await ids("Proposal")).toEqual(["o-b"]);
      });

      it("keeps one small list item per listed opportunity, with a gsi1 entry under its stage", async () => {
        const items = (await scanAll(table?.tableName ?? "")).filter((item) => item.pk === "T#demo#OPPS");
        expect(items).toEqual([
          expect.objectContaining({
            pk: "T#demo#OPPS",
            sk: "o-b",
            gsi1pk: "T#demo#STAGE#Proposal",
            gsi1sk: "o-b",
            stage: "Proposal",
            changedAt: Date.parse(at(23)),
          }),
          expect.objectContaining({
            pk: "T#demo#OPPS",
            sk: "o-c",
            gsi1pk: "T#demo#STAGE#Negotiation",
            gsi1sk: "o-c",
            stage: "Negotiation",
            amount: "70.00",
            currency: "USD",
          }),
        ]);
        // Small: the keys and the sort values, nothing of the header else.
        for (const item of items)
          expect(Object.keys(item).sort()).toEqual([
            "amount",
            "changedAt",
            "currency",
            "gsi1pk",
            "gsi1sk",
            "pk",
            "sk",
            "stage",
          ]);
      });
    }
  });
}
