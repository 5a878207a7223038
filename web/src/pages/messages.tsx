/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Publish form, and retained messages (by filter, paged; view, delete). */
import { useState } from "hono/jsx/dom";
import { api, ok } from "../api.ts";
import { bytes, type PayloadFormat, showPayload } from "../format.ts";
import { Action, formValues, notify, Page, Pager, Show, useAsync } from "../ui.tsx";

export function Publish({ canChange }: { canChange: boolean }) {
  const [result, setResult] = useState<string | undefined>();
  const send = async (e: Event) => {
    const v = formValues(e);
    const userProperties = (v.userProperties ?? "").split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const at = l.indexOf("=");
      return [at < 0 ? l : l.slice(0, at), at < 0 ? "" : l.slice(at + 1)] as [string, string];
    });
    try {
      const r = await ok(api.publish.$post({
        json: {
          topic: v.topic,
          payload: v.payload,
          encoding: v.encoding === "base64" ? "base64" : "text",
          qos: Number(v.qos) as 0 | 1 | 2,
          retain: v.retain === "on",
          properties: {
            contentType: v.contentType || undefined,
            responseTopic: v.responseTopic || undefined,
            messageExpiryInterval: v.expiry ? Number(v.expiry) : undefined,
            userProperties: userProperties.length ? userProperties : undefined,
          },
        },
      }));
      setResult(`Published to ${v.topic}: reached ${r.deliveredTo} subscriber(s).`);
      notify("published");
    } catch (err: unknown) {
      setResult(undefined);
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  return (
    <Page title="Publish">
      {!canChange && <p class="state">Viewers cannot publish.</p>}
      <form class="form" onSubmit={send}>
        <label>Topic <input name="topic" required placeholder="plant/line1/setpoint" disabled={!canChange} /></label>
        <label>Payload <textarea name="payload" rows={5} disabled={!canChange} /></label>
        <div class="row">
          <label>Encoding <select name="encoding"><option value="text">text</option><option value="base64">base64</option></select></label>
          <label>QoS <select name="qos"><option>0</option><option>1</option><option>2</option></select></label>
          <label class="check"><input type="checkbox" name="retain" /> Retain</label>
        </div>
        <details>
          <summary>MQTT 5 properties</summary>
          <label>Content type <input name="contentType" /></label>
          <label>Response topic <input name="responseTopic" /></label>
          <label>Message expiry (s) <input name="expiry" type="number" min="1" /></label>
          <label>User properties (name=value per line) <textarea name="userProperties" rows={3} /></label>
        </details>
        <button type="submit" disabled={!canChange}>Publish</button>
      </form>
      {result && <p class="state ok" role="status">{result}</p>}
    </Page>
  );
}

export function Retained({ canChange }: { canChange: boolean }) {
  const [filter, setFilter] = useState("#");
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<string | undefined>();
  const [format, setFormat] = useState<PayloadFormat>("text");
  const list = useAsync(() => ok(api.retained.$get({ query: { filter, offset: String(offset), limit: "50" } })), [filter, offset]);
  const remove = async (topic: string) => {
    await ok(api.retained[":topic{.+}"].$delete({ param: { topic } }));
    notify(`deleted the retained message on ${topic}`);
    list.reload();
  };
  return (
    <Page title="Retained messages" actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <form class="toolbar" onSubmit={(e: Event) => (setFilter(formValues(e).filter || "#"), setOffset(0))}>
        <label>Filter <input name="filter" value={filter} aria-label="Topic filter" /></label>
        <button type="submit">Show</button>
        <select aria-label="Payload format" value={format} onChange={(e: Event) => setFormat((e.target as HTMLSelectElement).value as PayloadFormat)}>
          <option value="text">text</option><option value="json">JSON</option><option value="hex">hex</option>
        </select>
      </form>
      <Show async={list} empty={(d) => d.total === 0}>
        {(page) => (
          <div>
            <div class="table-wrap">
              <table>
                <thead><tr><th>Topic</th><th>QoS</th><th>Size</th><th>Payload</th><th><span class="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  {page.items.map((m) => (
                    <tr data-topic={m.topic}>
                      <td><button type="button" class="link" onClick={() => setOpen(open === m.topic ? undefined : m.topic)}><code>{m.topic}</code></button></td>
                      <td>{m.qos}</td>
                      <td>{bytes(m.size)}</td>
                      <td>{open === m.topic ? <pre class="payload">{showPayload(m.payload, format)}</pre> : <span class="truncate">{(m.text ?? "(binary)").slice(0, 60)}</span>}</td>
                      <td class="row-actions">{canChange && <Action label="Delete" danger confirm={`Delete the retained message on ${m.topic}?`} run={() => remove(m.topic)} />}</td>
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
