import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { OpportunityRecord, QuoteRecord } from "../../domain/model.js";
import type { DriftFinding } from "../../domain/schedule.js";
import type { Page, PipelineEntry } from "../../domain/store.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";

/** DynamoDB's limit on keys in one BatchGetItem. */
const BATCH_GET_LIMIT = 100;

/**
 * What the pipeline page reads: pages of the tenant's opportunity list (a Query of its own
 * partition, or of `gsi1` for one stage — never a scan) and headers and drift findings by id,
 * batched. Reads for display: eventually consistent, no line sets.
 */
export class PipelineReads {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async opportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
    stage: string | undefined,
  ): Promise<Page<string>> {
    const byStage = stage !== undefined;
    const [pkName, skName] = byStage ? ["gsi1pk", "gsi1sk"] : ["pk", "sk"];
    const partition = byStage
      ? keys.opportunitiesByStageIndex(tenantId, stage)
      : keys.opportunitiesPartition(tenantId);
    const result = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...(byStage ? { IndexName: "gsi1" } : {}),
          KeyConditionExpression: after === null ? "#pk = :pk" : "#pk = :pk AND #sk > :after",
          ExpressionAttributeNames: { "#pk": pkName, ...(after === null ? {} : { "#sk": skName }) },
          ExpressionAttributeValues: { ":pk": partition, ...(after === null ? {} : { ":after": after }) },
          ...(byStage ? {} : { ProjectionExpression: "sk" }),
          Limit: limit,
        }),
      ),
    );
    const entries = (result.Items ?? []).map((item) => String(item[skName]));
    return { entries, next: result.LastEvaluatedKey ? (entries.at(-1) ?? null) : null };
  }

  /**
   * Every list entry (or those at `stage`) with its sort values: one Query, paged through. `only`
   * names the one sort value wanted (less to read back); `changedAt` always comes, absent only on
   * entries written before the list carried sort values.
   */
  async pipelineEntries(
    tenantId: string,
    stage: string | undefined,
    only?: "stage" | "amount" | "changedAt",
  ): Promise<PipelineEntry[]> {
    const wanted =
      only === undefined
        ? ["#stage", "amount", "currency"]
        : only === "stage"
          ? ["#stage"]
          : only === "amount"
            ? ["amount"]
            : [];
    const entries: PipelineEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await guard(
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ...(stage === undefined ? {} : { FilterExpression: "#stage = :stage" }),
            ProjectionExpression: ["sk", "changedAt", ...wanted].join(", "),
            ...(stage !== undefined || wanted.includes("#stage")
              ? { ExpressionAttributeNames: { "#stage": "stage" } }
              : {}),
            ExpressionAttributeValues: {
              ":pk": keys.opportunitiesPartition(tenantId),
              ...(stage === undefined ? {} : { ":stage": stage }),
            },
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of result.Items ?? []) {
        entries.push({
          id: String(item.sk),
          stage: typeof item.stage === "string" ? item.stage : (stage ?? null),
          ...("amount" in item ? { amount: typeof item.amount === "string" ? item.amount : null } : {}),
          ...("currency" in item
            ? { currency: typeof item.currency === "string" ? item.currency : null }
            : {}),
          ...(typeof item.changedAt === "number" ? { changedAt: item.changedAt } : {}),
        });
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return entries;
  }

  async opportunityHeaders(tenantId: string, ids: string[]): Promise<OpportunityRecord[]> {
    const items = await this.batchGet(
      ids.map((id) => ({ pk: keys.opportunityPartition(tenantId, id), sk: keys.header })),
    );
    return items.map((item) => ({ ...(item.record as OpportunityRecord), version: item.version as number }));
  }

  async quoteHeaders(tenantId: string, ids: string[]): Promise<QuoteRecord[]> {
    const items = await this.batchGet(
      ids.map((id) => ({ pk: keys.quotePartition(tenantId, id), sk: keys.header })),
    );
    return items.map((item) => ({ ...(item.record as QuoteRecord), version: item.version as number }));
  }

  async driftFindings(tenantId: string, ids: string[]): Promise<DriftFinding[]> {
    const items = await this.batchGet(ids.map((id) => ({ pk: keys.driftPartition(tenantId), sk: id })));
    return items.map((item) => item.finding as DriftFinding);
  }

  /** Every item of `keys` that exists, in chunks of 100 read in parallel, unprocessed keys retried. */
  private async batchGet(itemKeys: Array<{ pk: string; sk: string }>): Promise<Record<string, unknown>[]> {
    const unique = [...new Map(itemKeys.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
    const chunks: Array<Array<Record<string, unknown>>> = [];
    for (let index = 0; index < unique.length; index += BATCH_GET_LIMIT) {
      chunks.push(unique.slice(index, index + BATCH_GET_LIMIT));
    }
    const pages = await Promise.all(
      chunks.map(async (chunk) => {
        const found: Record<string, unknown>[] = [];
        let request = chunk;
        for (let attempt = 0; request.length > 0; attempt++) {
          if (attempt > 0)
            await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** Math.min(attempt, 6)));
          const result = await guard(
            this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: request } } })),
          );
          found.push(...(result.Responses?.[this.tableName] ?? []));
          request = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
        }
        return found;
      }),
    );
    return pages.flat();
  }
}

async function guard<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw translateStorageError(error);
  }
}
