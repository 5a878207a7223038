/**
 * Reads the YAML file while keeping where every key and value sits (line:column), so a problem
 * found later by the schema can be reported at its place in the file.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { KeyPath } from "./schema-walk.ts";

export interface Position {
  line: number;
  col: number;
}

export interface YamlSource {
  /** The file's content as plain data (an empty file is an empty mapping). */
  value: unknown;
  /** Where the value (or, with atKey, the key) at `path` is; the nearest existing parent otherwise. */
  locate(path: KeyPath, atKey: boolean): Position;
}

export interface YamlSyntaxError {
  position: Position;
  message: string;
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

export function parseYaml(text: string): { source: YamlSource } | { errors: YamlSyntaxError[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => ({
        position: e.linePos?.[0] ?? { line: 1, col: 1 },
        message: firstLine(e.message),
      })),
    };
  }
  const at = (offset: number | undefined): Position => lineCounter.linePos(offset ?? 0);
  const locate = (path: KeyPath, atKey: boolean): Position => {
    let node: unknown = doc.contents;
    let position = at((doc.contents as Node | null)?.range?.[0]);
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return position;
        const keyNode = pair.key as Node;
        if (atKey && i === path.length - 1) return at(keyNode.range?.[0]);
        node = pair.value;
        position = at((pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0]);
      } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
        node = node.items[segment];
        position = at((node as Node).range?.[0]);
      } else {
        return position;
      }
    }
    return position;
  };
  return { source: { value: doc.toJS() ?? {}, locate } };
}
