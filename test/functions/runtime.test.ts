import { createServer, type Server, type Socket } from "node:net";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoClient } from "../../functions/lib/runtime.js";

describe("the functions' DynamoDB client", () => {
  let server: Server;
  const sockets: Socket[] = [];
  let endpoint: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    // Accepts connections and never answers: a DynamoDB request that hangs.
    server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    endpoint = `http://127.0.0.1:${address.port}`;
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_MAX_ATTEMPTS: "1",
    });
  });
  afterAll(async () => {
    process.env = saved;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("fails a request that never answers with a TimeoutError (which the store answers with 503) instead of hanging", async () => {
    const client = dynamoClient({ region: "eu-west-1", dynamoEndpoint: endpoint });
    try {
      const failure = await client
        .send(new GetItemCommand({ TableName: "t", Key: { pk: { S: "p" }, sk: { S: "s" } } }))
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failure).toMatchObject({ name: "TimeoutError" });
      expect(sockets.length).toBeGreaterThan(0); // it did reach the server
    } finally {
      client.destroy();
    }
  });
});
