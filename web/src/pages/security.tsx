/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** MQTT users, ACL rules (ordered, with the "would this be allowed" tester), bans. */
import { useState } from "hono/jsx/dom";
import { api, ok } from "../api.ts";
import { time } from "../format.ts";
import { Action, formValues, notify, Page, Show, useAsync } from "../ui.tsx";

export function Users({ canChange }: { canChange: boolean }) {
  const list = useAsync(() => ok(api.users.$get()));
  const add = async (e: Event) => {
    const form = e.target as HTMLFormElement;
    const v = formValues(e);
    try {
      await ok(api.users.$post({ json: { username: v.username, password: v.password } }));
      notify(`added user ${v.username}`);
      form.reset();
      list.reload();
    } catch (err: unknown) {
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  const passwd = async (username: string) => {
    const password = globalThis.prompt(`New password for ${username}`);
    if (!password) return;
    await ok(api.users[":username"].password.$put({ param: { username }, json: { password } }));
    notify(`changed the password of ${username}`);
  };
  return (
    <Page title="MQTT users">
      {canChange && (
        <form class="toolbar" onSubmit={add} aria-label="Add a user">
          <label>User name <input name="username" required autocomplete="off" /></label>
          <label>Password <input name="password" type="password" required autocomplete="new-password" /></label>
          <button type="submit">Add user</button>
        </form>
      )}
      <Show async={list}>
        {(d) => (
          <div>
            {d.inFile > 0 && <p class="muted">{d.inFile} more user(s) in the configuration file (auth.users), checked first.</p>}
            {d.items.length === 0 ? <p class="state empty">No users in the database.</p> : (
              <div class="table-wrap">
                <table>
                  <thead><tr><th>User</th><th>Hash</th><th>Created</th><th>Updated</th><th><span class="sr-only">Actions</span></th></tr></thead>
                  <tbody>
                    {d.items.map((u) => (
                      <tr data-user={u.username}>
                        <td>{u.username}</td>
                        <td>{u.hash}</td>
                        <td>{time(u.createdAt)}</td>
                        <td>{time(u.updatedAt)}</td>
                        <td class="row-actions">
                          {canChange && <Action label="Password" run={() => passwd(u.username)} />}
                          {canChange && (
                            <Action
                              label="Delete"
                              danger
                              confirm={`Delete the user ${u.username}?`}
                              run={async () => (await ok(api.users[":username"].$delete({ param: { username: u.username } })), list.reload())}
                            />
                          )}
                        </td>
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

type Rule = { username?: string; clientId?: string; anonymous?: boolean; topic: string; action: "publish" | "subscribe" | "both"; permission: "allow" | "deny"; maxQos?: 0 | 1 | 2; retain?: boolean };
const who = (r: Rule) => (r.username !== undefined ? `user ${r.username}` : r.clientId !== undefined ? `client ${r.clientId}` : r.anonymous ? "anonymous" : "everyone");

function RuleRows({ rules, from, remove }: { rules: Rule[]; from: "file" | "database"; remove?: (i: number) => Promise<void> }) {
  return (
    <tbody>
      {rules.map((r, i) => (
        <tr data-rule={`${from}-${i}`}>
          <td>{from === "file" ? `file ${i + 1}` : i + 1}</td>
          <td><span class={`badge ${r.permission}`}>{r.permission}</span></td>
          <td>{r.action}</td>
          <td>{who(r)}</td>
          <td><code>{r.topic}</code></td>
          <td>{[r.maxQos !== undefined ? `maxQos ${r.maxQos}` : "", r.retain !== undefined ? `retain ${r.retain}` : ""].filter(Boolean).join(", ")}</td>
          <td class="row-actions">{remove && <Action label="Delete" danger confirm={`Delete ACL rule ${i + 1}?`} run={() => remove(i)} />}</td>
        </tr>
      ))}
    </tbody>
  );
}

export function AclPage({ canChange }: { canChange: boolean }) {
  const list = useAsync(() => ok(api.acl.$get()));
  const [verdict, setVerdict] = useState<string | undefined>();
  const add = async (e: Event) => {
    const form = e.target as HTMLFormElement;
    const v = formValues(e);
    const rule: Rule = { topic: v.topic, action: v.action as Rule["action"], permission: v.permission as Rule["permission"] };
    if (v.whoKind === "username") rule.username = v.whoValue;
    if (v.whoKind === "clientId") rule.clientId = v.whoValue;
    if (v.whoKind === "anonymous") rule.anonymous = true;
    if (v.maxQos) rule.maxQos = Number(v.maxQos) as 0 | 1 | 2;
    try {
      const r = await ok(api.acl.$post({ json: { rule, position: v.position ? Number(v.position) - 1 : undefined } }));
      notify(`added rule ${r.position + 1}`);
      form.reset();
      list.reload();
    } catch (err: unknown) {
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  const test = async (e: Event) => {
    const v = formValues(e);
    try {
      const r = await ok(api.acl.test.$post({
        json: { username: v.username || undefined, clientId: v.clientId || "acl-test", action: v.action as "publish" | "subscribe", topic: v.topic, qos: Number(v.qos) as 0 | 1 | 2, retain: v.retain === "on" },
      }));
      setVerdict(
        `${r.allowed ? "Allowed" : "Denied"} — ` +
          (r.rule ? `decided by ${r.rule.source} rule ${r.rule.position + 1} (${r.rule.rule.permission} ${r.rule.rule.topic})` : "no rule matched: acl.default decided") +
          (r.why ? `; ${r.why}` : ""),
      );
    } catch (err: unknown) {
      setVerdict(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Page title="ACL rules">
      <Show async={list}>
        {(d) => (
          <div>
            <p class="muted">Checked in order, first match wins; no match: <strong>{d.default}</strong> (acl.default).</p>
            <div class="table-wrap">
              <table>
                <thead><tr><th>#</th><th>Permission</th><th>Action</th><th>Who</th><th>Topic</th><th>Limits</th><th><span class="sr-only">Actions</span></th></tr></thead>
                <RuleRows rules={d.fileRules} from="file" />
                <RuleRows
                  rules={d.rules}
                  from="database"
                  remove={canChange ? async (i) => (await ok(api.acl[":position"].$delete({ param: { position: String(i) } })), list.reload()) : undefined}
                />
              </table>
            </div>
            {d.fileRules.length + d.rules.length === 0 && <p class="state empty">No rules.</p>}
          </div>
        )}
      </Show>
      {canChange && (
        <form class="form" onSubmit={add} aria-label="Add an ACL rule">
          <h2>Add a rule</h2>
          <div class="row">
            <label>Permission <select name="permission"><option>allow</option><option>deny</option></select></label>
            <label>Action <select name="action"><option>both</option><option>publish</option><option>subscribe</option></select></label>
            <label>Who <select name="whoKind"><option value="all">everyone</option><option value="username">user</option><option value="clientId">client id</option><option value="anonymous">anonymous</option></select></label>
            <label>Name <input name="whoValue" /></label>
          </div>
          <div class="row">
            <label>Topic filter <input name="topic" required placeholder="plant/%u/#" /></label>
            <label>Max QoS <select name="maxQos"><option value="">any</option><option>0</option><option>1</option><option>2</option></select></label>
            <label>Position <input name="position" type="number" min="1" placeholder="last" /></label>
          </div>
          <button type="submit">Add rule</button>
        </form>
      )}
      <form class="form" onSubmit={test} aria-label="ACL tester">
        <h2>Would this be allowed?</h2>
        <div class="row">
          <label>User <input name="username" /></label>
          <label>Client id <input name="clientId" /></label>
          <label>Action <select name="action"><option>publish</option><option>subscribe</option></select></label>
          <label>Topic <input name="topic" required /></label>
          <label>QoS <select name="qos"><option>0</option><option>1</option><option>2</option></select></label>
          <label class="check"><input type="checkbox" name="retain" /> Retain</label>
        </div>
        <button type="submit">Check</button>
        {verdict && <p class="state" role="status" id="acl-verdict">{verdict}</p>}
      </form>
    </Page>
  );
}

export function Bans({ canChange }: { canChange: boolean }) {
  const list = useAsync(() => ok(api.bans.$get()));
  const add = async (e: Event) => {
    const form = e.target as HTMLFormElement;
    const v = formValues(e);
    try {
      await ok(api.bans.$post({
        json: { kind: v.kind as "clientId" | "username" | "address", value: v.value, reason: v.reason || undefined, durationSeconds: v.duration ? Number(v.duration) : undefined },
      }));
      form.reset();
      list.reload();
    } catch (err: unknown) {
      notify(err instanceof Error ? err.message : String(err), "error");
    }
  };
  return (
    <Page title="Bans">
      {canChange && (
        <form class="toolbar" onSubmit={add} aria-label="Add a ban">
          <select name="kind" aria-label="Kind"><option value="clientId">client id</option><option value="username">user name</option><option value="address">address / CIDR</option></select>
          <input name="value" required aria-label="Value" placeholder="value" />
          <input name="reason" aria-label="Reason" placeholder="reason" />
          <input name="duration" type="number" min="1" aria-label="Duration in seconds" placeholder="seconds (empty: until lifted)" />
          <button type="submit">Ban</button>
        </form>
      )}
      <Show async={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Kind</th><th>Value</th><th>Reason</th><th>Since</th><th>Until</th><th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {d.items.map((b) => (
                  <tr data-ban={`${b.kind}:${b.value}`}>
                    <td>{b.kind}</td>
                    <td>{b.value}</td>
                    <td>{b.reason}</td>
                    <td>{time(b.createdAt)}</td>
                    <td>{b.expiresAt === null ? "lifted by hand" : time(b.expiresAt)}</td>
                    <td class="row-actions">
                      {canChange && (
                        <Action label="Lift" run={async () => (await ok(api.bans[":kind"][":value"].$delete({ param: { kind: b.kind, value: b.value } })), list.reload())} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </Page>
  );
}
