// Hash routes (#/till, #/office/products): work behind any static server without
// rewrite rules, and a reload keeps the screen.

function current(): string {
  const path = location.hash.replace(/^#/, "");
  return path.startsWith("/") ? path : "/";
}

class Router {
  path = $state(current());

  constructor() {
    addEventListener("hashchange", () => {
      // Only "#/..." is a route; a plain in-page anchor ("#top") is not.
      if (location.hash === "" || location.hash.startsWith("#/")) this.path = current();
    });
  }

  go(path: string): void {
    if (current() === path) this.path = path;
    else location.hash = path;
  }

  /** Go to `path` in place of the current entry (Back skips the one left). */
  replace(path: string): void {
    history.replaceState(history.state, "", `#${path}`);
    this.path = path;
  }
}

export const router = new Router();
