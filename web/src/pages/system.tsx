/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Listeners and the effective configuration (with reload), logs (live tail), admin accounts and API keys, audit log, about. */
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { api, ok, stream } from "../api.ts";
import { bytes, duration, time } from "../format.ts";
import { Action, formValues, notify, Page, Pager, Show, useAsync } from "../ui.tsx";

export function Config({ canChange }: { canChange: boolean }) {
  const config = useAsync(() => ok(api.config.$get()));
  const overview = useAsync(() => ok(api.overview.$get()));
  const [outcome, setOutcome] = useState<string | undefined>();
  const reload = async () => {
    const res = await api.config.reload.$post();
    const r = await res.json() as { ok: boolean; applied: string[]; restart: string[]; problems: string[] };
    setOutcome(r.ok
      ? `Reloaded: applied ${r.applied.join(", ") || "nothing new"}${r.restart.length ? `; needs a restart: ${r.restart.join(", ")}` : ""}.`
      : `Not reloaded, the file is invalid: ${r.problems.join("; ")}`);
    config.reload();
  };
  return (
    <Page title="Listeners and configuration" actions={canChange && <Action label="Reload configuration" run={reload} />}>
      {outcome && <p class="state" role="status">{outcome}</p>}
      <h2>Listeners</h2>
      <Show async={overview}>
        {(o) => (
          <ul class="plain">
            {o.listeners.map((l) => <li key={l.name}><code>{l.name}</code>: {l.connections} connection(s)</li>)}
          </ul>
        )}
      </Show>
      <h2>Effective configuration <span class="muted small">(secrets masked)</span></h2>
      <Show async={config}>{(c) => <pre class="config">{JSON.stringify(c.config, null, 2)}</pre>}</Show>
    </Page>
  );
}

type Log = { id: number; at: number; level: "debug" | "info" | "warn" | "error"; line: string };

export function Logs() {
  const [level, setLevel] = useState<Log["level"]>("info");
  const [lines, setLines] = useState<Log[]>([]);
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    let live = true;
    ok(api.logs.$get({ query: { level, limit: "500" } })).then((r) => live && setLines(r.items));
    const close = stream(`/logs/stream?level=${level}`, { log: (l) => setLines((all) => [...all, l as Log].slice(-1000)) });
    return () => ((live = false), close());
  }, [level]);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!paused && box.current) box.current.scrollTop = box.current.scrollHeight;
  });
  const shown = lines;
  return (
    <Page
      title="Logs"
      actions={
        <div class="contents">
          <select aria-label="Level" value={level} onChange={(e: Event) => setLevel((e.target as HTMLSelectElement).value as Log["level"])}>
            <option>debug</option><option>info</option><option>warn</option><option>error</option>
          </select>
          <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>{paused ? "Follow" : "Pause scrolling"}</button>
        </div>
      }
    >
      {shown.length === 0 ? <p class="state empty">No log lines at {level} or above yet.</p> : (
        <pre ref={box} class="logs" aria-live="off">
          {shown.map((l, i) => <div key={i} class={`log ${l.level}`}>{l.line}</div>)}
        </pre>
      )}
    </Page>
  );
}

export function Accounts({ canChange, me }: { canChange: boolean; me: string }) {
  const accounts = useAsync(() => ok(api.accounts.$get()));
  const keys = useAsync(() => ok(api["api-keys"].$get()));
  const [newKey, setNewKey] = useState<string | undefined>();
  const add = async (e: Event) => {
    const form = e.target as HTMLFormElement;
    const v = formValues(e);
    try {
      await ok(api.accounts.$post({ json: { name: v.name, password: v.password, role: v.role as "admin" | "viewer" } }));
      form.reset();
      accounts.reload();
    } catch (err: unknown) {
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  const createKey = async (e: Event) => {
    const form = e.target as HTMLFormElement;
    const v = formValues(e);
    try {
      const r = await ok(api["api-keys"].$post({ json: { label: v.label, role: v.role as "admin" | "viewer" } }));
      setNewKey(r.key);
      form.reset();
      keys.reload();
    } catch (err: unknown) {
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  return (
    <Page title="Admin accounts and API keys">
      <Show async={accounts}>
        {(d) => (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Account</th><th>Role</th><th>Created</th><th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {d.items.map((a) => (
                  <tr data-account={a.name}>
                    <td>{a.name}{a.name === me && <span class="badge">you</span>}</td>
                    <td>{a.role}</td>
                    <td>{time(a.createdAt)}</td>
                    <td class="row-actions">
                      {canChange && (
                        <Action
                          label="Password"
                          run={async () => {
                            const password = globalThis.prompt(`New password for ${a.name} (8 characters or more)`);
                            if (password) await ok(api.accounts[":name"].$patch({ param: { name: a.name }, json: { password } }));
                          }}
                        />
                      )}
                      {canChange && a.name !== me && (
                        <Action label="Delete" danger confirm={`Delete the account ${a.name} and its API keys?`} run={async () => (await ok(api.accounts[":name"].$delete({ param: { name: a.name } })), accounts.reload(), keys.reload())} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
      {canChange && (
        <form class="toolbar" onSubmit={add} aria-label="Add an account">
          <input name="name" required aria-label="Account name" placeholder="name" />
          <input name="password" type="password" required minLength={8} aria-label="Password" placeholder="password (8+)" autocomplete="new-password" />
          <select name="role" aria-label="Role"><option>viewer</option><option>admin</option></select>
          <button type="submit">Add account</button>
        </form>
      )}
      <h2>API keys</h2>
      {newKey && (
        <p class="state ok" role="status">
          New key (shown only now; send it as <code>Authorization: Bearer …</code>): <code class="secret">{newKey}</code>
        </p>
      )}
      <Show async={keys}>
        {(d) => d.items.length === 0 ? <p class="state empty">No API keys.</p> : (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Id</th><th>Label</th><th>Account</th><th>Role</th><th>Created</th><th>Last used</th><th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {d.items.map((k) => (
                  <tr data-key={k.id}>
                    <td><code>{k.id}</code></td>
                    <td>{k.label}</td>
                    <td>{k.account}</td>
                    <td>{k.role}</td>
                    <td>{time(k.createdAt)}</td>
                    <td>{time(k.lastUsedAt)}</td>
                    <td class="row-actions">{canChange && <Action label="Revoke" danger confirm={`Revoke key ${k.id}?`} run={async () => (await ok(api["api-keys"][":id"].$delete({ param: { id: k.id } })), keys.reload())} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
      {canChange && (
        <form class="toolbar" onSubmit={createKey} aria-label="Create an API key">
          <input name="label" required aria-label="Label" placeholder="label, e.g. prometheus" />
          <select name="role" aria-label="Role"><option>viewer</option><option>admin</option></select>
          <button type="submit">Create key</button>
        </form>
      )}
    </Page>
  );
}

export function Audit() {
  const [offset, setOffset] = useState(0);
  const list = useAsync(() => ok(api.audit.$get({ query: { offset: String(offset), limit: "50" } })), [offset]);
  return (
    <Page title="Audit log" actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <Show async={list} empty={(d) => d.total === 0}>
        {(d) => (
          <div>
            <div class="table-wrap">
              <table>
                <thead><tr><th>When</th><th>Who</th><th>What</th><th>On</th><th>From</th><th>Details</th></tr></thead>
                <tbody>
                  {d.items.map((e) => (
                    <tr>
                      <td>{time(e.at)}</td>
                      <td>{e.actor}</td>
                      <td>{e.action}</td>
                      <td><code>{e.target}</code></td>
                      <td>{e.address ?? "–"}</td>
                      <td class="small">{e.detail ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={d.offset} limit={d.limit} total={d.total} go={setOffset} />
          </div>
        )}
      </Show>
    </Page>
  );
}

export function About() {
  const o = useAsync(() => ok(api.overview.$get()));
  return (
    <Page title="About">
      <Show async={o}>
        {(d) => (
          <dl class="facts">
            <dt>Version</dt><dd>Gannet {d.version}</dd>
            <dt>Runtime</dt><dd>{d.runtime}</dd>
            <dt>Platform</dt><dd>{d.process?.platform ?? "–"}</dd>
            <dt>Started</dt><dd>{time(d.startedAt)} ({duration(d.uptime)} ago)</dd>
            <dt>Memory</dt><dd>{bytes(d.process?.residentBytes)} resident</dd>
            <dt>Store</dt><dd>{d.storeSize === null ? "memory (nothing survives a restart)" : bytes(d.storeSize)}</dd>
            <dt>API</dt><dd><a href="/api/v1/openapi.json">OpenAPI 3.1 document</a></dd>
          </dl>
        )}
      </Show>
    </Page>
  );
}
