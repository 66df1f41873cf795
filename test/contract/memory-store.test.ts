import { InMemorySyncStore } from "../../domain/memory-store.js";
import { syncStoreContract } from "./sync-store.contract.js";

syncStoreContract("the in-memory store", async (clock) => ({
  store: new InMemorySyncStore(clock),
  dispose: async () => {},
}));
