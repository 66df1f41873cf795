import { describe, expect, it } from "vitest";
import { salesforceAmount } from "../../../connectors/salesforce/amount.js";
import {
  ChangeEventHeader,
  changedFieldNames,
  changeEventKey,
  commitTime,
  isOwnChange,
  RelayedChangeEvent,
} from "../../../connectors/salesforce/cdc.js";
import { soqlString } from "../../../connectors/salesforce/client.js";
import { parseSoql, SoqlSyntaxError } from "../../../connectors/salesforce/fake/soql.js";
import {
  dateValue,
  lineInputFrom,
  opportunityInputFrom,
  withoutAssignedPricebook,
} from "../../../connectors/salesforce/fields.js";
import { salesforceConnector, salesforceTenant } from "../../support/salesforce.js";

const tenant = salesforceTenant("https://acme.my.salesforce.com", "01s000000000001AAA");
const connector = salesforceConnector(tenant);

function header(overrides: Record<string, unknown> = {}) {
  return ChangeEventHeader.parse({
    entityName: "OpportunityLineItem",
    recordIds: ["00k000000000001AAA"],
    changeType: "UPDATE",
    changeOrigin: "com/salesforce/api/rest/62.0;client=quotesync",
    transactionKey: "0002a2f4-9d1d-4c5a-a3b1-6bbf1c2d0e11",
    sequenceNumber: 2,
    commitTimestamp: 1767225600000,
    commitUser: "005000000000099AAA",
    changedFields: ["Quantity", "LastModifiedDate"],
    ...overrides,
  });
}

describe("Salesforce change event translation", () => {
  it("recognises quotesync's own transaction by changeOrigin client or by the integration user", () => {
    expect(isOwnChange(header(), "quotesync", undefined)).toBe(true);
    expect(
      isOwnChange(
        header({ changeOrigin: "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/" }),
        "quotesync",
        undefined,
      ),
    ).toBe(false);
    expect(
      isOwnChange(
        header({ changeOrigin: "com/salesforce/api/rest/62.0;client=quotesyncer" }),
        "quotesync",
        undefined,
      ),
    ).toBe(false);
    expect(isOwnChange(header({ changeOrigin: "" }), "quotesync", "005000000000099AAA")).toBe(true);
    expect(isOwnChange(header({ changeOrigin: null }), "quotesync", "005000000000001AAA")).toBe(false);
  });

  it("accepts commit times and dates as epoch milliseconds or ISO strings", () => {
    expect(commitTime(header())).toBe(1767225600000);
    expect(commitTime(header({ commitTimestamp: "2026-01-01T00:00:00.000Z" }))).toBe(1767225600000);
    expect(dateValue(1767225600000)).toBe("2026-01-01");
    expect(dateValue("2026-01-01")).toBe("2026-01-01");
    expect(dateValue(null)).toBeNull();
  });

  it("reads changed field names, and treats Pub/Sub bitmaps as unknown (the record is read)", () => {
    expect(changedFieldNames(header())).toEqual(["Quantity", "LastModifiedDate"]);
    expect(changedFieldNames(header({ changedFields: ["0x650004E0", "4-0x10"] }))).toBeNull();
    expect(changedFieldNames(header({ changedFields: null }))).toBeNull();
  });

  it("derives the same event id for a redelivered event, another for the next change", () => {
    const event = (sequenceNumber: number) =>
      RelayedChangeEvent.parse({
        source: "aws.partner/salesforce.com/00D5g000004SxyzEAC/0YLRM0000004Dfg4AE",
        "detail-type": "OpportunityLineItemChangeEvent",
        id: crypto.randomUUID(),
        detail: { payload: { ChangeEventHeader: { ...header(), sequenceNumber } } },
      });
    expect(changeEventKey(event(1))).toBe(changeEventKey(event(1)));
    expect(changeEventKey(event(1))).not.toBe(changeEventKey(event(2)));
    expect(changeEventKey(event(1))).toMatch(/^[\w.:@#/+=-]{1,128}$/);
  });

  it("turns a line record into a line report with exact decimals and the sync key", () => {
    const line = lineInputFrom(
      {
        Product2Id: "01t000000000001AAA",
        Quantity: 3,
        UnitPrice: 133.33,
        Discount: 12.5,
        ServiceDate: 1767225600000,
        SortOrder: 4,
        Description: "Seats",
        QS_Sync_Key__c: "qs_1",
        Color__c: "red",
      },
      "00k000000000001AAA",
      connector,
      tenant,
    );
    expect(line).toEqual({
      id: "00k000000000001AAA",
      syncKey: "qs_1",
      productId: "01t000000000001AAA",
      name: "Seats",
      quantity: "3",
      unitPrice: "133.33",
      discountPercent: "12.5",
      position: 4,
      serviceDate: "2026-01-01",
      fields: { Color__c: "red" },
    });
  });

  it("leaves Amount out of a synced opportunity's report, and the price book quotesync's first line gave it", () => {
    const record = {
      Id: "006000000000001AAA",
      Name: "Deal",
      StageName: "Negotiation",
      Amount: 1234.5,
      Pricebook2Id: "01s000000000001AAA",
      CloseDate: "2026-03-31",
    };
    expect(opportunityInputFrom(record, connector, tenant, { includeAmount: false })).not.toHaveProperty(
      "amount",
    );
    expect(opportunityInputFrom(record, connector, tenant, { includeAmount: true }).amount).toBe("1234.5");
    const input = opportunityInputFrom(record, connector, tenant, { includeAmount: false });
    expect(withoutAssignedPricebook(input, null, connector).pricebookId).toBeNull();
    expect(withoutAssignedPricebook(input, "01s000000000002AAA", connector).pricebookId).toBe(
      "01s000000000001AAA",
    );
  });

  it("computes Amount as Salesforce does: unrounded line totals summed, then rounded", () => {
    const lines = [1, 2, 3].map((quantity) => ({ quantity, unitPrice: "12.33", discountPercent: "7.5" }));
    expect(salesforceAmount(lines, "USD")).toBe("68.43");
  });
});

describe("the fake's SOQL parser", () => {
  it("parses the queries the connector sends", () => {
    expect(
      parseSoql(
        "SELECT Id, QS_Sync_Key__c FROM OpportunityLineItem WHERE QS_Sync_Key__c IN ('a', 'b\\'c') LIMIT 5",
      ),
    ).toEqual({
      fields: ["Id", "QS_Sync_Key__c"],
      object: "OpportunityLineItem",
      where: [{ field: "QS_Sync_Key__c", op: "IN", values: ["a", "b'c"] }],
      orderBy: null,
      limit: 5,
    });
    const query = parseSoql(
      "select Id, Product2.Code__c from PricebookEntry where Pricebook2Id = '01s' and IsActive = true order by Id desc",
    );
    expect(query.where).toEqual([
      { field: "Pricebook2Id", op: "=", value: "01s" },
      { field: "IsActive", op: "=", value: true },
    ]);
    expect(query.orderBy).toEqual({ field: "Id", descending: true });
    expect(parseSoql(`SELECT Id FROM Opportunity WHERE Id = ${soqlString("it's \\ odd")}`).where).toEqual([
      { field: "Id", op: "=", value: "it's \\ odd" },
    ]);
  });

  it("refuses what it does not understand", () => {
    for (const bad of [
      "SELECT FROM Opportunity",
      "SELECT Id FROM Opportunity WHERE Id = 'x",
      "SELECT Id FROM Opportunity WHERE Id LIKE 'x%'",
      "SELECT Id FROM Opportunity LIMIT x",
      "SELECT Id FROM Opportunity WHERE Id IN ()",
    ]) {
      expect(() => parseSoql(bad), bad).toThrow(SoqlSyntaxError);
    }
  });
});
