/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/**
 * The Gannet console: log in, then one page per hash route. Talks only to the admin API through the
 * typed client. Light and dark themes (the system's, or chosen), keyboard navigable (skip link,
 * focus moved to each page's heading), responsive (the menu folds on narrow screens).
 */
import { render, useEffect, useState } from "hono/jsx/dom";
import { api, ApiFailure, ok, setCsrf, whenLoggedOut } from "./api.ts";
import { currentRoute } from "./router.ts";
import { formValues } from "./ui.tsx";
import { Dashboard } from "./pages/dashboard.tsx";
import { ClientDetail, Clients } from "./pages/clients.tsx";
import { TopicTree, TopicViewer } from "./pages/topics.tsx";
import { Publish, Retained } from "./pages/messages.tsx";
import { AclPage, Bans, Users } from "./pages/security.tsx";
import { About, Accounts, Audit, Config, Logs } from "./pages/system.tsx";
import { Bridges } from "./pages/bridges.tsx";

interface Me {
  account: string;
  role: "admin" | "viewer";
}

const NAV: Array<[string, string]> = [
  ["dashboard", "Dashboard"],
  ["clients", "Clients"],
  ["sessions", "Sessions"],
  ["tree", "Topic tree"],
  ["viewer", "Live viewer"],
  ["publish", "Publish"],
  ["retained", "Retained"],
  ["bridges", "Bridges"],
  ["users", "MQTT users"],
  ["acl", "ACL rules"],
  ["bans", "Bans"],
  ["config", "Configuration"],
  ["logs", "Logs"],
  ["accounts", "Accounts & keys"],
  ["audit", "Audit log"],
  ["about", "About"],
];

function Login({ done }: { done: (me: Me) => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    const v = formValues(e);
    setBusy(true);
    try {
      const me = await ok(api.auth.login.$post({ json: { name: v.name, password: v.password } }));
      setCsrf(me.csrfToken);
      done(me);
    } catch (err: unknown) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="form card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Gannet</h1>
        <p class="muted">Log in to manage this broker.</p>
        <label>Account <input name="name" autocomplete="username" required autofocus /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        {error && <p class="state error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? "Logging in…" : "Log in"}</button>
      </form>
    </main>
  );
}

function Route({ route, me }: { route: string[]; me: Me }) {
  const canChange = me.role === "admin";
  const [page, arg] = route;
  switch (page) {
    case "clients":
      return arg ? <ClientDetail clientId={arg} canChange={canChange} /> : <Clients mode="clients" canChange={canChange} />;
    case "sessions":
      return <Clients mode="sessions" canChange={canChange} />;
    case "tree":
      return <TopicTree />;
    case "viewer":
      return <TopicViewer />;
    case "publish":
      return <Publish canChange={canChange} />;
    case "retained":
      return <Retained canChange={canChange} />;
    case "bridges":
      return <Bridges />;
    case "users":
      return <Users canChange={canChange} />;
    case "acl":
      return <AclPage canChange={canChange} />;
    case "bans":
      return <Bans canChange={canChange} />;
    case "config":
      return <Config canChange={canChange} />;
    case "logs":
      return <Logs />;
    case "accounts":
      return <Accounts canChange={canChange} me={me.account} />;
    case "audit":
      return <Audit />;
    case "about":
      return <About />;
    default:
      return <Dashboard />;
  }
}

function applyTheme(theme: string): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [route, setRoute] = useState(currentRoute());
  const [menu, setMenu] = useState(false);
  const [theme, setTheme] = useState(localStorage.getItem("gannet-theme") ?? "system");

  useEffect(() => {
    whenLoggedOut(() => setMe(null));
    ok(api.auth.me.$get()).then((m) => (setCsrf(m.csrfToken), setMe(m)), (e: unknown) => {
      if (!(e instanceof ApiFailure) || e.status === 401) setMe(null);
      else setMe(null);
    });
    const onHash = () => {
      setRoute(currentRoute());
      setMenu(false);
      // Keyboard and screen reader users land on the new page's heading.
      requestAnimationFrame(() => document.getElementById("page-title")?.focus());
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem("gannet-theme", theme);
  }, [theme]);

  if (me === undefined) return <p class="state">Loading…</p>;
  if (me === null) return <Login done={setMe} />;
  const logout = async () => {
    await api.auth.logout.$post().catch(() => undefined);
    setCsrf(undefined);
    setMe(null);
  };
  const active = route[0] ?? "dashboard";
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <button type="button" class="menu-toggle" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>Menu</button>
        <a class="brand" href="#/dashboard">Gannet</a>
        <span class="spacer" />
        <label class="theme">
          <span class="sr-only">Theme</span>
          <select value={theme} onChange={(e: Event) => setTheme((e.target as HTMLSelectElement).value)}>
            <option value="system">system theme</option>
            <option value="light">light</option>
            <option value="dark">dark</option>
          </select>
        </label>
        <span class="who" title={`role: ${me.role}`}>{me.account} ({me.role})</span>
        <button type="button" onClick={logout}>Log out</button>
      </header>
      <nav id="nav" class={menu ? "open" : ""} aria-label="Pages">
        <ul>
          {NAV.map(([id, label]) => (
            <li><a href={`#/${id}`} aria-current={active === id ? "page" : undefined}>{label}</a></li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <Route route={route} me={me} />
      </main>
      <div id="toast" class="toast" role="status" aria-live="polite" />
    </div>
  );
}

render(<App />, document.getElementById("app")!);
