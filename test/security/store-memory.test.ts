/** The SecurityStore and AdminStore contracts against the memory store. */
import { MemoryStore } from "../../src/store/memory.ts";
import { adminContract } from "./admin-store-contract.ts";
import { securityContract } from "./store-contract.ts";
import type { StoreTarget } from "../store/fixtures.ts";

const target: StoreTarget = {
  name: "memory",
  durable: false,
  open: () => Promise.resolve(new MemoryStore()),
  restart: (store) => Promise.resolve(store),
};

securityContract(target);
adminContract(target);
