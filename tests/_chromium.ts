// Test helper: Debian's Chromium (/usr/bin/chromium, installed by tests/setup.ts) headless,
// driven through playwright-core with a fresh profile in a temporary directory, screenshots
// written beside it, and every page's uncaught errors and console errors collected.
//
//   await using browser = await launchChromium({ dir });   // dir: the test's temp dir
//   const page = await browser.newPage();
//   await page.goto(url);
//   await browser.screenshot(page, "hello");                // → `${dir}/hello.png`
//   assert.deepEqual(browser.errors, []);
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** The system browser the tests drive. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags for a quiet, reproducible headless run: no sandbox (containers), GPU or network chatter. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Options of {@linkcode launchChromium}. */
export interface ChromiumOptions {
  /**
   * Directory for the profile (`profile/`, removed on close) and the screenshots (kept).
   * Default: a new temporary directory.
   */
  dir?: string;
  /** Viewport of new pages in CSS pixels (default 1280 × 900). */
  viewport?: { width: number; height: number };
  /** Milliseconds each Playwright action may take (default 30 000). */
  timeout?: number;
}

/** A running headless Chromium. */
export interface Chromium extends AsyncDisposable {
  /** The browser context (one profile; pages share its storage). */
  readonly context: BrowserContext;
  /** Where the profile and screenshots are. */
  readonly dir: string;
  /** Uncaught page errors and `console.error` lines of every page so far, prefixed by kind. */
  readonly errors: readonly string[];
  /** Every console line of every page so far (`type: text`). */
  readonly console: readonly string[];
  /** Opens a page whose errors and console lines are collected. */
  newPage(): Promise<Page>;
  /**
   * Saves a screenshot of the page (or of one element) as `${dir}/${name}.png`.
   *
   * @returns the file's path
   */
  screenshot(page: Page, name: string, selector?: string): Promise<string>;
  /** Closes the browser and removes the profile; the screenshots stay. */
  close(): Promise<void>;
}

/**
 * Launches `/usr/bin/chromium` headless with {@linkcode CHROMIUM_FLAGS} and a fresh profile
 * (`--user-data-dir` under `dir`).
 *
 * @param options where files go, the viewport and the action timeout
 * @returns the browser
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Chromium> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "chromium_" });
  const profile = `${dir}/profile`;
  await Deno.mkdir(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // Playwright adds --headless and --user-data-dir itself, and refuses the latter in args.
    args: CHROMIUM_FLAGS.filter((flag) => flag !== "--headless"),
    viewport: options.viewport ?? { width: 1280, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(options.timeout ?? 30_000);
  const errors: string[] = [];
  const lines: string[] = [];
  const watch = (page: Page) => {
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      lines.push(`${message.type()}: ${message.text()}`);
      if (message.type() === "error") errors.push(`console.error: ${message.text()}`);
    });
  };
  context.on("page", watch);
  let closed: Promise<void> | undefined;
  const browser: Chromium = {
    context,
    dir,
    errors,
    console: lines,
    async newPage(): Promise<Page> {
      return await context.newPage();
    },
    async screenshot(page: Page, name: string, selector?: string): Promise<string> {
      const path = `${dir}/${name}.png`;
      if (selector === undefined) await page.screenshot({ path, fullPage: true });
      else await page.locator(selector).screenshot({ path });
      return path;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        await context.close();
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      })();
      return closed;
    },
    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
  // A page opened before `newPage` (the persistent context's first tab) is watched too.
  for (const page of context.pages()) watch(page);
  return browser;
}
