// The headless browser launcher: Debian's chromium with a fresh profile,
// nothing fetched from the network, driven over the DevTools protocol (Node's
// own WebSocket) so a test can load a page, collect every script error,
// console error and dialog, evaluate expressions in it and take a screenshot.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.ts';
import { sleep } from './wait.ts';

/** What a page did that a user would call an error. */
export interface PageProblem {
  kind: 'exception' | 'console' | 'log' | 'dialog';
  text: string;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class Browser {
  readonly problems: PageProblem[] = [];
  readonly #child: Child;
  readonly #profile: string;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #waiters: { method: string; resolve: () => void }[] = [];
  #id = 0;

  private constructor(child: Child, profile: string, ws: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#ws = ws;
    ws.addEventListener('message', (m) => this.#message(JSON.parse(String(m.data))));
  }

  /** Start chromium headless and attach to its first page. */
  static async start(): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), 'bpfgate-chromium-'));
    const child = new Child([
      'chromium',
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      '--window-size=1200,900',
      'about:blank',
    ]);
    try {
      // chromium writes its DevTools port to the profile once it listens
      const port = await child.until(
        () => {
          try {
            return readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0] || undefined;
          } catch {
            return undefined;
          }
        },
        'the DevTools port',
        30_000,
      );
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
      const page = targets.find((t) => t.type === 'page');
      if (!page) throw new Error(`no page target: ${JSON.stringify(targets)}`);
      const ws = new WebSocket(page.webSocketDebuggerUrl);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve(), { once: true });
        ws.addEventListener('error', () => reject(new Error('DevTools connection failed')), { once: true });
      });
      const b = new Browser(child, profile, ws);
      await b.send('Runtime.enable');
      await b.send('Log.enable');
      await b.send('Page.enable');
      return b;
    } catch (err) {
      await child.kill();
      rmSync(profile, { recursive: true, force: true });
      throw err;
    }
  }

  #message(m: {
    id?: number;
    result?: unknown;
    error?: { message: string };
    method?: string;
    params?: Record<string, unknown>;
  }): void {
    if (m.id !== undefined) {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result);
      return;
    }
    const params = m.params ?? {};
    if (m.method === 'Runtime.exceptionThrown') {
      const d = params.exceptionDetails as unknown as { text: string; exception?: { description?: string } };
      this.problems.push({ kind: 'exception', text: d.exception?.description ?? d.text });
    } else if (m.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(String(params.type))) {
      this.problems.push({ kind: 'console', text: JSON.stringify(params.args) });
    } else if (m.method === 'Log.entryAdded') {
      const e = params.entry as unknown as { level: string; text: string; url?: string };
      if (e.level === 'error') this.problems.push({ kind: 'log', text: `${e.text} ${e.url ?? ''}` });
    } else if (m.method === 'Page.javascriptDialogOpening') {
      this.problems.push({ kind: 'dialog', text: String(params.message) });
      void this.send('Page.handleJavaScriptDialog', { accept: false });
    }
    for (const w of this.#waiters.filter((x) => x.method === m.method)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** One DevTools command. */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Load a URL (file://...) and wait for its load event. */
  async open(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) =>
      this.#waiters.push({ method: 'Page.loadEventFired', resolve }),
    );
    await this.send('Page.navigate', { url });
    await loaded;
    await sleep(200); // late errors (timers, deferred work) land in `problems`
  }

  /** The value of a JavaScript expression in the page. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
      'Runtime.evaluate',
      {
        expression,
        returnByValue: true,
      },
    );
    if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the page as shown. */
  async screenshot(): Promise<Buffer> {
    const r = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(r.data, 'base64');
  }

  async close(): Promise<void> {
    this.#ws.close();
    await this.#child.stop('SIGTERM', 5000);
    rmSync(this.#profile, { recursive: true, force: true });
  }
}
