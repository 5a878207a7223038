/**
 * Input validation with zod: bad input gets 400 with what was wrong and never reaches a handler.
 * Typed for hono/client (`in` is the schema's input, `out` its output), like @hono/zod-validator.
 */
import type { MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import type { AdminEnv } from "./env.ts";
import { describeIssues, errorBody } from "./errors.ts";

type Target = "json" | "query" | "param";

function make<T extends Target, S extends z.ZodType>(target: T, schema: S) {
  return validator(target, (value, c) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) return c.json(errorBody("bad_request", describeIssues(target === "json" ? "body" : target, parsed.error)), 400);
    return parsed.data;
  }) as unknown as MiddlewareHandler<
    AdminEnv,
    string,
    { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }
  >;
}

export const jsonBody = <S extends z.ZodType>(schema: S) => make("json", schema);
export const query = <S extends z.ZodType>(schema: S) => make("query", schema);
export const params = <S extends z.ZodType>(schema: S) => make("param", schema);
