import { createServer } from "node:net";
import { startDynamoDbLocal } from "./infra/dynamodb-local.js";
const blocker = createServer().listen(0);
await new Promise((r) => blocker.once("listening", r));
const port = (blocker.address() as { port: number }).port;
const t = performance.now();
try { await startDynamoDbLocal({ port }); console.log("unexpected: started"); } catch (e) { console.log("REJECTED in", Math.round(performance.now() - t), "ms:", String((e as Error).message).slice(0, 900)); }
blocker.close();
process.env.PATH = "/nonexistent";
try { await startDynamoDbLocal(); } catch (e) { console.log("NO JAVA:", (e as Error).message); }
