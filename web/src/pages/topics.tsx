/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/**
 * The topic tree (MQTT Explorer style: the hierarchy from retained messages and live traffic, counts
 * per branch, the last value as text, JSON or hex) and the live topic viewer (a filter, pause, clear).
 */
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { api, ok, stream } from "../api.ts";
import { bytes, type PayloadFormat, showPayload, time } from "../format.ts";
import { Empty, ErrorBox, Page } from "../ui.tsx";

interface Received {
  topic: string;
  qos: number;
  retain: boolean;
  at: number;
  size: number;
  payload: string;
  truncated?: boolean;
}

interface TreeNode {
  name: string;
  path: string;
  children: Map<string, TreeNode>;
  /** Messages seen on this topic and below. */
  count: number;
  last?: Received;
}

const newNode = (name: string, path: string): TreeNode => ({ name, path, children: new Map(), count: 0 });

function add(root: TreeNode, m: Received): void {
  let node = root;
  node.count++;
  const levels = m.topic.split("/");
  levels.forEach((level, i) => {
    const path = levels.slice(0, i + 1).join("/");
    let child = node.children.get(level);
    if (!child) node.children.set(level, (child = newNode(level, path)));
    child.count++;
    node = child;
  });
  node.last = m;
}

function FormatPicker({ value, set }: { value: PayloadFormat; set: (f: PayloadFormat) => void }) {
  return (
    <select aria-label="Payload format" value={value} onChange={(e: Event) => set((e.target as HTMLSelectElement).value as PayloadFormat)}>
      <option value="text">text</option>
      <option value="json">JSON</option>
      <option value="hex">hex</option>
    </select>
  );
}

function Branch({ node, open, toggle, select, selected }: {
  node: TreeNode;
  open: Set<string>;
  toggle: (path: string) => void;
  select: (node: TreeNode) => void;
  selected?: string;
}) {
  const children = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <ul role="group">
      {children.map((child) => {
        const expanded = open.has(child.path);
        return (
          <li role="treeitem" aria-expanded={child.children.size ? expanded : undefined} aria-selected={selected === child.path} data-topic={child.path}>
            <span class="tree-row">
              {child.children.size > 0
                ? <button type="button" class="twisty" aria-label={`${expanded ? "collapse" : "expand"} ${child.path}`} onClick={() => toggle(child.path)}>{expanded ? "▾" : "▸"}</button>
                : <span class="twisty" />}
              <button type="button" class="link" onClick={() => select(child)}>{child.name || "(empty)"}</button>
              <span class="muted small"> {child.count}</span>
              {child.last && <span class="tree-value"> = {showPayload(child.last.payload, "text").slice(0, 40)}</span>}
            </span>
            {expanded && child.children.size > 0 && <Branch node={child} open={open} toggle={toggle} select={select} selected={selected} />}
          </li>
        );
      })}
    </ul>
  );
}

export function TopicTree() {
  const root = useRef(newNode("", ""));
  const [, setVersion] = useState(0);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<TreeNode | undefined>();
  const [format, setFormat] = useState<PayloadFormat>("text");
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let dirty = false;
    ok(api.retained.$get({ query: { filter: "#", limit: "1000" } })).then((page) => {
      for (const r of page.items) add(root.current, { topic: r.topic, qos: r.qos, retain: true, at: Date.now(), size: r.size, payload: r.payload });
      dirty = true;
    }, (e: Error) => setError(e.message));
    const close = stream("/topics/stream?filter=%23&rate=200", {
      message: (m) => {
        add(root.current, m as Received);
        dirty = true;
      },
    }, setError);
    // Re-render at most twice a second however busy the broker is.
    const timer = setInterval(() => dirty && ((dirty = false), setVersion((v) => v + 1)), 500);
    return () => (close(), clearInterval(timer));
  }, []);

  const toggle = (path: string) => {
    const next = new Set(open);
    if (!next.delete(path)) next.add(path);
    setOpen(next);
  };
  const node = selected && root.current;
  return (
    <Page title="Topic tree">
      {error && <ErrorBox message={error} />}
      <div class="split">
        <div class="tree" role="tree" aria-label="Topics">
          {root.current.children.size === 0
            ? <Empty>No topics yet: retained messages and live traffic appear here.</Empty>
            : <Branch node={root.current} open={open} toggle={toggle} select={setSelected} selected={selected?.path} />}
        </div>
        <aside class="detail" aria-live="polite">
          {!node || !selected ? <p class="muted">Select a topic to see its last value.</p> : (
            <div>
              <h2><code>{selected.path}</code></h2>
              <p class="muted">{selected.count} message(s) on this branch</p>
              {selected.last
                ? (
                  <div>
                    <p>
                      {time(selected.last.at)} · QoS {selected.last.qos}{selected.last.retain ? " · retained" : ""} · {bytes(selected.last.size)}{" "}
                      <FormatPicker value={format} set={setFormat} />
                    </p>
                    <pre class="payload">{showPayload(selected.last.payload, format)}</pre>
                  </div>
                )
                : <p class="muted">No message on this exact topic.</p>}
            </div>
          )}
        </aside>
      </div>
    </Page>
  );
}

export function TopicViewer() {
  const [filter, setFilter] = useState("#");
  const [username, setUsername] = useState("");
  const [running, setRunning] = useState(false);
  const [paused, setPaused] = useState(false);
  const [messages, setMessages] = useState<Received[]>([]);
  const [skipped, setSkipped] = useState(0);
  const [format, setFormat] = useState<PayloadFormat>("text");
  const [error, setError] = useState<string | undefined>();
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    if (!running) return;
    setError(undefined);
    const query = new URLSearchParams({ filter, ...(username ? { username } : {}) });
    return stream(`/topics/stream?${query}`, {
      message: (m) => !pausedRef.current && setMessages((list) => [m as Received, ...list].slice(0, 500)),
      skipped: (s) => setSkipped((n) => n + (s as { count: number }).count),
    }, setError);
  }, [running, filter, username]);

  const start = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    setFilter(String(data.get("filter") || "#"));
    setUsername(String(data.get("username") || ""));
    setRunning(true);
  };
  return (
    <Page title="Live topic viewer">
      <form class="toolbar" onSubmit={start}>
        <label>Filter <input name="filter" value={filter} required aria-label="Topic filter" /></label>
        <label>As user <input name="username" value={username} placeholder="(optional: apply this user's ACL)" /></label>
        <button type="submit">{running ? "Restart" : "Subscribe"}</button>
        {running && <button type="button" onClick={() => setRunning(false)}>Stop</button>}
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>{paused ? "Resume" : "Pause"}</button>
        <button type="button" onClick={() => (setMessages([]), setSkipped(0))}>Clear</button>
        <FormatPicker value={format} set={setFormat} />
      </form>
      {error && <ErrorBox message={error} />}
      {skipped > 0 && <p class="muted">{skipped} message(s) skipped by the rate cap.</p>}
      {messages.length === 0
        ? <Empty>{running ? `Waiting for messages on ${filter}…` : "Subscribe to a filter to watch messages arrive."}</Empty>
        : (
          <ol class="messages" aria-live="polite">
            {messages.map((m) => (
              <li data-topic={m.topic}>
                <div class="message-head"><code>{m.topic}</code> <span class="muted small">{time(m.at)} · QoS {m.qos}{m.retain ? " · retained" : ""} · {bytes(m.size)}</span></div>
                <pre class="payload">{showPayload(m.payload, format)}{m.truncated ? "\n…" : ""}</pre>
              </li>
            ))}
          </ol>
        )}
    </Page>
  );
}
