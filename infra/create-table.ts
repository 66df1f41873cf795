import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { TABLE_DEFINITION, TABLE_STREAM } from "./table.js";

const ACTIVE_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;

/**
 * Creates the quotesync table from `TABLE_DEFINITION` unless it exists already, then waits until the
 * table and its indexes are ACTIVE. Safe to call concurrently and repeatedly. `stream` gives it the
 * deployed table's stream (the deliver function's source).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { stream?: boolean } = {},
): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        ...TABLE_DEFINITION,
        ...(options.stream ? { StreamSpecification: TABLE_STREAM } : {}),
        TableName: tableName,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilActive(client, tableName);
}

/** Deletes the table; a table that does not exist counts as deleted. */
export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === "ACTIVE",
    );
    if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `table ${tableName} not ACTIVE after ${ACTIVE_TIMEOUT_MS / 1000} s (status ${Table?.TableStatus})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
