import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createTestTable } from "../support/dynamo.js";
import { syncStoreContract } from "./sync-store.contract.js";

syncStoreContract("the DynamoDB adapter (DynamoDB Local)", async (clock) => {
  const table = await createTestTable();
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    store: new DynamoSyncStore({ doc, tableName: table.tableName, clock }),
    dispose: () => table.dispose(),
  };
});
