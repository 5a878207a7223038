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

/** The line (1-based) of the last unclosed `open` before `offset`, ignoring quoted text roughly. */
function unclosedOpener(text: string, offset: number, open: string, close: string): number | undefined {
  let depth = 0;
  for (let i = Math.min(offset, text.length) - 1; i >= 0; i--) {
    if (text[i] === close) depth++;
    else if (text[i] === open && depth-- === 0) return text.slice(0, i).split("\n").length;
  }
  return undefined;
}

interface RawError {
  code: string;
  pos: [number, number];
  linePos?: [Position, Position] | [Position];
  message: string;
}

/**
 * The parser's errors as one message per mistake, at the line of the mistake: its follow-on
 * errors dropped, and its wording replaced where it names a YAML term rather than the fix.
 */
function syntaxErrors(text: string, errors: readonly RawError[]): YamlSyntaxError[] {
  const result: YamlSyntaxError[] = [];
  const lines = new Set<number>();
  const add = (position: Position, message: string) => {
    if (lines.has(position.line)) return;
    lines.add(position.line);
    result.push({ position, message });
  };
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    const [start, end] = [e.linePos?.[0] ?? { line: 1, col: 1 }, e.linePos?.[1]];
    const next = errors[i + 1];
    switch (e.code) {
      case "BLOCK_AS_IMPLICIT_KEY": {
        // With a multi-line follow-up, the next line is indented deeper than its neighbours.
        const spill = next?.code === "MULTILINE_IMPLICIT_KEY" && next.linePos?.[1] ? next.linePos[1].line : undefined;
        if (spill !== undefined && spill > start.line) {
          i++;
          add({ line: spill, col: 1 }, "indented deeper than the key above, which already has a value: line the keys of one mapping up");
        } else {
          add(start, 'a second "key: value" on one line: put a nested mapping on its own, indented line, or quote a value that contains ": "');
        }
        break;
      }
      case "BAD_INDENT":
      case "MISSING_CHAR": {
        const flow = /Flow (map|sequence)/.exec(e.message);
        const quote = /closing "?(["'])?quote/.exec(e.message);
        if (flow) {
          const [open, close] = flow[1] === "map" ? ["{", "}"] : ["[", "]"];
          const line = unclosedOpener(text, e.pos[0], open, close) ?? start.line;
          add({ line, col: 1 }, `a ${open} ... ${close} ${flow[1] === "map" ? "mapping" : "list"} is not closed: end it with ${close} on this line`);
        } else if (quote) {
          add(start, "a quoted value is not closed: add the closing quote");
        } else if (/same column/.test(e.message)) {
          add(start, "this key is not lined up with the keys above it: keys of one mapping start in the same column");
        } else {
          add(start, firstLine(e.message));
        }
        break;
      }
      case "TAB_AS_INDENT":
        add(start, "a tab in the indentation: YAML indents with spaces");
        break;
      case "DUPLICATE_KEY": {
        const key = /^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0].trim() ?? "";
        add(start, `the key ${JSON.stringify(key)} appears twice in one mapping: keep one`);
        break;
      }
      default:
        if (end && end.line !== start.line && lines.has(start.line)) break;
        add(start, firstLine(e.message));
    }
  }
  return result.sort((a, b) => a.position.line - b.position.line);
}

export type YamlParser = (text: string) => { source: YamlSource } | { errors: YamlSyntaxError[] };

export function parseYaml(text: string): { source: YamlSource } | { errors: YamlSyntaxError[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { errors: syntaxErrors(text, doc.errors as unknown as RawError[]) };
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
