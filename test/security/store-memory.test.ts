/** The SecurityStore contract against the memory store. */
import { MemoryStore } from "../../src/store/memory.ts";
import { securityContract } from "./store-contract.ts";

securityContract({
  name: "memory",
  durable: false,
  open: () => Promise.resolve(new MemoryStore()),
  restart: (store) => Promise.resolve(store),
});
