/** The store contract against the memory store. */
import { MemoryStore } from "../../src/store/memory.ts";
import { storeContract } from "./contract.ts";

storeContract({
  name: "memory",
  durable: false,
  open: (_dir, options) => Promise.resolve(new MemoryStore({ now: options?.now })),
  restart: (store) => Promise.resolve(store),
});
