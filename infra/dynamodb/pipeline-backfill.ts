import {
  type DynamoDBDocumentClient,
  ScanCommand,
  type ScanCommandOutput,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { OpportunityRecord } from "../../domain/model.js";
import { pipelineEntryItem } from "./commit-plan.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";
import { listingOf } from "./listing-hints.js";

export interface BackfillReport {
  /** Items the scan read (the whole table: every tenant's). */
  scanned: number;
  /** The tenant's opportunity headers found. */
  headers: number;
  /** Of those, the known and undeleted ones: the ones the list holds. */
  listed: number;
  /** List entries written (or that would be, with `dryRun`). */
  written: number;
  /** Headers written by a decision while the backfill ran: that commit wrote their entry itself. */
  skipped: number;
}

/**
 * Puts every known, undeleted opportunity of a tenant in its pipeline list with the values the page
 * sorts by — for opportunities stored before the list existed (or before it carried sort values),
 * which otherwise appear only when their header is next written. An operator's one-off: it pages a
 * Scan of the whole table (the only way to find headers no index names), filtered to the tenant's
 * opportunity headers, and writes each entry in a transaction with its header, conditioned on the
 * header's version (the header records its listing, as a commit does), so a decision committing
 * meanwhile is never overwritten with older values. Safe to run twice, and while quotesync runs.
 */
export async function backfillPipelineList(
  doc: DynamoDBDocumentClient,
  tableName: string,
  tenantId: string,
  options: { dryRun?: boolean; pageSize?: number; onPage?: (report: BackfillReport) => void } = {},
): Promise<BackfillReport> {
  const report: BackfillReport = { scanned: 0, headers: 0, listed: 0, written: 0, skipped: 0 };
  const prefix = keys.opportunityPartition(tenantId, "");
  let startKey: Record<string, unknown> | undefined;
  do {
    let page: ScanCommandOutput;
    try {
      page = await doc.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: "begins_with(pk, :prefix) AND sk = :header",
          ExpressionAttributeValues: { ":prefix": prefix, ":header": keys.header },
          ProjectionExpression: "pk, #version, #record, #listing",
          ExpressionAttributeNames: { "#version": "version", "#record": "record", "#listing": "listing" },
          ...(options.pageSize ? { Limit: options.pageSize } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
    } catch (error) {
      throw translateStorageError(error);
    }
    report.scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      report.headers++;
      const record = { ...(item.record as OpportunityRecord), tenantId, version: Number(item.version) };
      const listing = listingOf(record);
      if (listing === null) continue;
      report.listed++;
      // Written already with every sort value (by a commit since the list carried them).
      if (item.listing === listing) continue;
      if (options.dryRun) {
        report.written++;
        continue;
      }
      if (await writeEntry(doc, tableName, String(item.pk), record, listing)) report.written++;
      else report.skipped++;
    }
    options.onPage?.({ ...report });
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return report;
}

async function writeEntry(
  doc: DynamoDBDocumentClient,
  tableName: string,
  partition: string,
  record: OpportunityRecord,
  listing: string,
): Promise<boolean> {
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: { pk: partition, sk: keys.header },
              UpdateExpression: "SET #listing = :listing",
              ConditionExpression: "#version = :version",
              ExpressionAttributeNames: { "#listing": "listing", "#version": "version" },
              ExpressionAttributeValues: { ":listing": listing, ":version": record.version },
            },
          },
          { Put: { TableName: tableName, Item: pipelineEntryItem(record) } },
        ],
      }),
    );
    return true;
  } catch (error) {
    const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
    if (reasons.some((reason) => reason.Code === "ConditionalCheckFailed")) return false;
    throw translateStorageError(error);
  }
}
