/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Clients (connected) and sessions (offline too): search, sort, page, kick, ban, delete; one client's detail. */
import { useState } from "hono/jsx/dom";
import { api, ok } from "../api.ts";
import { bytes, count, time } from "../format.ts";
import { Action, notify, Page, Pager, Show, useAsync } from "../ui.tsx";
import { navigate } from "../router.ts";

/** The IP of "address:port" ("[v6]:port" too); undefined for in-process owners. */
function hostOf(address: string): string | undefined {
  if (address === "in-process") return undefined;
  const v6 = /^\[(.+)\]:\d+$/.exec(address);
  if (v6) return v6[1];
  const at = address.lastIndexOf(":");
  return at > 0 && address.indexOf(":") === at ? address.slice(0, at) : address;
}

type Sort = "clientId" | "connectedAt" | "queued" | "messagesIn" | "messagesOut";
const LIMIT = 50;
const INTERNAL_LABEL = { bridge: "bridge queue", console: "console viewer" } as const;
const INTERNAL_TITLE = {
  bridge: "The bridge's own session: its queue holds what waits for the upstream (see Bridges)",
  console: "A topic viewer open in the console (Messages page); it ends with the viewer",
} as const;

export function Clients({ mode, canChange }: { mode: "clients" | "sessions"; canChange: boolean }) {
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState<Sort>("clientId");
  const [order, setOrder] = useState<"asc" | "desc">("asc");
  const [state, setState] = useState<"connected" | "offline" | "all">(mode === "clients" ? "connected" : "all");
  const list = useAsync(
    () => ok(api.sessions.$get({ query: { search: search || undefined, offset: String(offset), limit: String(LIMIT), sort, order, state } })),
    [search, offset, sort, order, state],
  );
  const header = (key: Sort, label: string) => (
    <th aria-sort={sort === key ? (order === "asc" ? "ascending" : "descending") : "none"}>
      <button
        type="button"
        class="link"
        onClick={() => {
          if (sort === key) setOrder(order === "asc" ? "desc" : "asc");
          else (setSort(key), setOrder(key === "clientId" ? "asc" : "desc"));
        }}
      >
        {label}
        {sort === key ? (order === "asc" ? " ▲" : " ▼") : ""}
      </button>
    </th>
  );
  const kick = async (clientId: string) => {
    await ok(api.sessions[":clientId"].disconnect.$post({ param: { clientId } }));
    notify(`disconnected ${clientId}`);
    list.reload();
  };
  const ban = async (kind: "clientId" | "address" | "username", value: string) => {
    await ok(api.bans.$post({ json: { kind, value, reason: "banned from the console" } }));
    notify(`banned ${kind} ${value}`);
  };
  const remove = async (clientId: string) => {
    await ok(api.sessions[":clientId"].$delete({ param: { clientId } }));
    notify(`deleted the session of ${clientId}`);
    list.reload();
  };
  return (
    <Page title={mode === "clients" ? "Clients" : "Sessions"} actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <form class="toolbar" role="search" onSubmit={(e: Event) => e.preventDefault()}>
        <input
          type="search"
          name="search"
          placeholder="Search client id, user name or address"
          aria-label="Search clients"
          value={search}
          onInput={(e: Event) => (setSearch((e.target as HTMLInputElement).value), setOffset(0))}
        />
        <select aria-label="State" value={state} onChange={(e: Event) => (setState((e.target as HTMLSelectElement).value as typeof state), setOffset(0))}>
          <option value="all">all</option>
          <option value="connected">connected</option>
          <option value="offline">offline</option>
        </select>
      </form>
      <Show async={list} empty={(d) => d.total === 0}>
        {(page) => (
          <div class="contents">
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    {header("clientId", "Client id")}
                    <th>User</th>
                    <th>Address</th>
                    {header("connectedAt", "Connected")}
                    <th>Subs</th>
                    {header("queued", "Queued")}
                    {header("messagesIn", "In")}
                    {header("messagesOut", "Out")}
                    <th><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((s) => (
                    <tr data-client={s.clientId}>
                      <td>
                        <a href={`#/clients/${encodeURIComponent(s.clientId)}`}>{s.clientId}</a>
                        {s.internal && <span class="badge" title={INTERNAL_TITLE[s.internal]}>{INTERNAL_LABEL[s.internal]}</span>}
                        {!s.connected && <span class="badge">offline</span>}
                      </td>
                      <td>{s.username ?? "–"}</td>
                      <td>{s.address ?? "–"}</td>
                      <td>{s.connected ? time(s.connectedAt) : `left ${time(s.disconnectedAt)}`}</td>
                      <td>{s.subscriptions}</td>
                      <td>{count(s.queued)}</td>
                      <td>{count(s.messagesIn)}</td>
                      <td>{count(s.messagesOut)}</td>
                      <td class="row-actions">
                        {/* A bridge's or a viewer's own session is the broker's: not kicked or banned, deleted only once its owner is gone. */}
                        {canChange && !s.internal && s.connected && <Action label="Kick" run={() => kick(s.clientId)} confirm={`Disconnect ${s.clientId}?`} />}
                        {canChange && !s.internal && (
                          <Action label="Ban" danger run={() => ban("clientId", s.clientId)} confirm={`Ban the client id ${s.clientId}?`} />
                        )}
                        {canChange && s.username !== undefined && (
                          <Action label="Ban user" danger run={() => ban("username", s.username!)} confirm={`Ban the user name ${s.username}?`} />
                        )}
                        {canChange && s.address !== undefined && hostOf(s.address) && (
                          <Action label="Ban address" danger run={() => ban("address", hostOf(s.address!)!)} confirm={`Ban the address ${hostOf(s.address)}?`} />
                        )}
                        {canChange && (!s.internal || !s.connected) && mode === "sessions" && (
                          <Action label="Delete" danger run={() => remove(s.clientId)} confirm={`Delete the session of ${s.clientId} and its queued messages?`} />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={page.offset} limit={page.limit} total={page.total} go={setOffset} />
          </div>
        )}
      </Show>
    </Page>
  );
}

export function ClientDetail({ clientId, canChange }: { clientId: string; canChange: boolean }) {
  const detail = useAsync(() => ok(api.sessions[":clientId"].$get({ param: { clientId } })), [clientId]);
  return (
    <Page title={`Client ${clientId}`} actions={<button type="button" onClick={detail.reload}>Refresh</button>}>
      <Show async={detail}>
        {(d) => (
          <div class="contents">
            <dl class="facts">
              <dt>State</dt>
              <dd>
                {d.connected ? "connected" : "offline"}
                {d.internal && <span class="badge" title={INTERNAL_TITLE[d.internal]}>{INTERNAL_LABEL[d.internal]}</span>}
              </dd>
              <dt>User</dt>
              <dd>{d.username ?? "–"}</dd>
              <dt>Address</dt>
              <dd>{d.address ?? "–"} {d.listener ? `(${d.listener})` : ""}</dd>
              <dt>Protocol</dt>
              <dd>{d.protocolVersion === 5 ? "MQTT 5.0" : d.protocolVersion === 4 ? "MQTT 3.1.1" : d.protocolVersion === 3 ? "MQTT 3.1" : "–"}</dd>
              <dt>Connected</dt>
              <dd>{time(d.connectedAt)}</dd>
              <dt>Keepalive</dt>
              <dd>{d.keepalive ?? "–"} s</dd>
              <dt>Session expiry</dt>
              <dd>{d.expiryInterval === 0xffffffff ? "never" : `${d.expiryInterval} s`}</dd>
              <dt>In flight / queued</dt>
              <dd>{d.inflight} / {d.queued} ({bytes(d.queuedBytes)}), {d.dropped} dropped</dd>
              <dt>Traffic</dt>
              <dd>in {count(d.messagesIn)} msgs ({bytes(d.bytesIn)}), out {count(d.messagesOut)} msgs ({bytes(d.bytesOut)})</dd>
              {d.will && (
                <div class="contents">
                  <dt>Will</dt>
                  <dd>{d.will.topic} (QoS {d.will.qos}{d.will.retain ? ", retained" : ""}, delay {d.will.delayInterval} s)</dd>
                </div>
              )}
            </dl>
            {canChange && !(d.internal && d.connected) && (
              <div class="actions">
                {d.connected && (
                  <Action
                    label="Kick"
                    confirm={`Disconnect ${clientId}?`}
                    run={async () => (await ok(api.sessions[":clientId"].disconnect.$post({ param: { clientId } })), detail.reload())}
                  />
                )}
                <Action
                  label="Delete session"
                  danger
                  confirm={`Delete the session of ${clientId}?`}
                  run={async () => (await ok(api.sessions[":clientId"].$delete({ param: { clientId } })), navigate("#/sessions"))}
                />
              </div>
            )}
            <h2>Subscriptions</h2>
            {d.subscriptionList.length === 0 ? <p class="state empty">No subscriptions.</p> : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr><th>Filter</th><th>QoS</th><th>No Local</th><th>Retain as published</th><th>Retain handling</th></tr>
                  </thead>
                  <tbody>
                    {d.subscriptionList.map((s) => (
                      <tr>
                        <td><code>{s.filter}</code></td>
                        <td>{s.qos}</td>
                        <td>{s.noLocal ? "yes" : "no"}</td>
                        <td>{s.retainAsPublished ? "yes" : "no"}</td>
                        <td>{s.retainHandling}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        )}
      </Show>
    </Page>
  );
}
