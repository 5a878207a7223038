/** drizzle-kit: `drizzle-kit generate` writes SQL migrations for src/store/sqlite/schema.ts (then embed them). */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/store/sqlite/schema.ts",
  out: "./src/store/sqlite/migrations",
});
