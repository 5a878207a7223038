/** Navigating the zod schema by key path: which keys exist where, and what type a leaf expects. */
import { z } from "zod";

export type KeyPath = readonly (string | number)[];

/** Strip default/prefault/optional wrappers to reach the schema that describes the value. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (
    current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable
  ) {
    current = current.def.innerType as z.ZodType;
  }
  return current;
}

/** The (unwrapped) schema at `path`, or undefined when the path names no option. */
export function schemaAt(root: z.ZodType, path: KeyPath): z.ZodType | undefined {
  let node: z.ZodType = unwrap(root);
  for (const segment of path) {
    if (node instanceof z.ZodObject && typeof segment === "string") {
      const child = (node.shape as Record<string, z.ZodType>)[segment];
      if (!child || !Object.hasOwn(node.shape, segment)) return undefined;
      node = unwrap(child);
    } else if (node instanceof z.ZodArray && typeof segment === "number") {
      node = unwrap(node.element as z.ZodType);
    } else {
      return undefined;
    }
  }
  return node;
}

/** Keys of the object schema at `path` (empty when it is not an object). */
export function keysAt(root: z.ZodType, path: KeyPath): string[] {
  const node = schemaAt(root, path);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** `listeners[0].port` style, as users write it in messages and `--set` (which also accepts `listeners.0.port`). */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : out ? `.${segment}` : segment;
  }
  return out || "(top level)";
}
