/** Navigating the zod schema by key path: which keys exist where, and what type a leaf expects. */
import * as z from "zod/mini";

export type KeyPath = readonly (string | number)[];

type Schema = z.core.$ZodType;

/** Strip default/prefault/optional wrappers to reach the schema that describes the value. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  while (
    current instanceof z.core.$ZodDefault || current instanceof z.core.$ZodPrefault ||
    current instanceof z.core.$ZodOptional || current instanceof z.core.$ZodNullable
  ) {
    current = current._zod.def.innerType;
  }
  return current;
}

/** The (unwrapped) schema at `path`, or undefined when the path names no option. */
export function schemaAt(root: Schema, path: KeyPath): Schema | undefined {
  let node: Schema = unwrap(root);
  for (const segment of path) {
    if (node instanceof z.core.$ZodObject && typeof segment === "string") {
      const shape = node._zod.def.shape;
      const child = shape[segment];
      if (!child || !Object.hasOwn(shape, segment)) return undefined;
      node = unwrap(child);
    } else if (node instanceof z.core.$ZodArray && typeof segment === "number") {
      node = unwrap(node._zod.def.element);
    } else {
      return undefined;
    }
  }
  return node;
}

/** Keys of the object schema at `path` (empty when it is not an object). */
export function keysAt(root: Schema, path: KeyPath): string[] {
  const node = schemaAt(root, path);
  return node instanceof z.core.$ZodObject ? Object.keys(node._zod.def.shape) : [];
}

/** `listeners[0].port` style, as users write it in messages and `--set` (which also accepts `listeners.0.port`). */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : out ? `.${segment}` : segment;
  }
  return out || "(top level)";
}
