// Helpline widget loader: the one script a company puts on its pages.
//   <script src="https://chat.example.com/widget.js" data-key="<API key id>" async></script>
// It adds a launcher button and the chat in an iframe served from the chat domain (the conversation, the
// visitor's token and storage all live there, never in the host page). Options (data-* attributes):
//   data-key       the id of an API key with the widget:issue scope (required; an id, not the secret)
//   data-position  "right" (default) or "left"
//   data-open      "true": open on the first page view
//   data-label     the launcher's accessible name (default "Chat with <brand>")
//   data-token-url a URL on this site that returns {"access_token": ...}: a widget token the site's backend
//                  minted for its logged-in customer (POST /v1/widget-tokens); asked again before each expires.
//                  Without it visitors are anonymous.
// Messages between page and frame are checked both ways: the page accepts only the chat origin and its own
// frame; the frame accepts only its parent on one of the tenant's allowed origins. No inline styles or
// scripts are injected (the host page's CSP is respected): styles are set through the CSSOM.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.HelplineWidget) return; // loaded twice: keep the first
  const chatOrigin = new URL(script.src).origin;
  const key = script.dataset.key || "";
  const side = script.dataset.position === "left" ? "left" : "right";
  const tokenUrl = script.dataset.tokenUrl ? new URL(script.dataset.tokenUrl, window.location.href) : null;
  const OPEN_KEY = `helpline-widget-open:${key}`;
  const PHONE = window.matchMedia("(max-width: 480px)");
  const Z = "2147483000";

  if (!/^[0-9a-f-]{36}$/i.test(key)) {
    console.error("Helpline widget: data-key must be the id of an API key (a UUID).");
    return;
  }
  if (tokenUrl && tokenUrl.origin !== window.location.origin) {
    console.error("Helpline widget: data-token-url must be on this site (it is fetched with the visitor's cookies).");
    return;
  }

  const state = { open: false, ready: false, unread: 0, brand: "us", label: script.dataset.label || "" };

  function css(element, styles) {
    for (const [name, value] of Object.entries(styles)) element.style.setProperty(name, value, "important");
  }

  // --- the frame ---------------------------------------------------------------------------------------------
  const frame = document.createElement("iframe");
  frame.id = `helpline-widget-frame-${key.slice(0, 8)}`;
  frame.title = "Chat";
  frame.src = `${chatOrigin}/widget/frame?key=${encodeURIComponent(key)}`;
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups");
  frame.setAttribute("referrerpolicy", "no-referrer");
  css(frame, { position: "fixed", border: "0", "z-index": Z, background: "transparent", display: "none" });

  // --- the launcher ------------------------------------------------------------------------------------------
  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", frame.id);
  launcher.setAttribute("aria-expanded", "false");
  launcher.dataset.helplineLauncher = "";
  css(launcher, {
    position: "fixed",
    bottom: "20px",
    [side]: "20px",
    width: "60px",
    height: "60px",
    padding: "0",
    border: "0",
    "border-radius": "50%",
    background: "#1f5fbf",
    color: "#ffffff",
    cursor: "pointer",
    "box-shadow": "0 4px 14px rgba(0, 0, 0, 0.3)",
    "z-index": Z,
    display: "none", // shown once the frame says it runs (a site not allowed to embed shows nothing)
  });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.append(path);
  const badge = document.createElement("span");
  badge.dataset.helplineBadge = "";
  badge.setAttribute("aria-hidden", "true");
  css(badge, {
    position: "absolute",
    top: "-4px",
    right: "-4px",
    "min-width": "22px",
    height: "22px",
    padding: "0 6px",
    "border-radius": "11px",
    background: "#b00020",
    color: "#ffffff",
    font: "700 13px/22px system-ui, sans-serif",
    display: "none",
  });
  launcher.append(svg, badge);

  function describeLauncher() {
    const name = state.label || `Chat with ${state.brand}`;
    const unread = state.unread ? ` (${state.unread} unread message${state.unread === 1 ? "" : "s"})` : "";
    launcher.setAttribute("aria-label", state.open ? `Close chat with ${state.brand}` : name + unread);
    badge.textContent = String(state.unread);
    css(badge, { display: state.unread && !state.open ? "block" : "none" });
  }

  function layout() {
    const phone = PHONE.matches;
    if (phone) {
      css(frame, { top: "0", bottom: "0", left: "0", right: "0", width: "100%", height: "100%", "border-radius": "0" });
    } else {
      css(frame, {
        top: "auto",
        bottom: "92px",
        [side]: "20px",
        [side === "right" ? "left" : "right"]: "auto",
        width: "380px",
        height: "min(640px, calc(100vh - 112px))",
        "border-radius": "12px",
        "box-shadow": "0 8px 30px rgba(0, 0, 0, 0.3)",
      });
    }
    css(frame, { display: state.open ? "block" : "none" });
    css(launcher, { display: state.ready && !(state.open && phone) ? "block" : "none" });
  }

  function post(message) {
    frame.contentWindow?.postMessage(message, chatOrigin); // only ever to the chat origin
  }

  function setOpen(open, { focus = true } = {}) {
    state.open = open;
    sessionStorage.setItem(OPEN_KEY, open ? "1" : "0");
    launcher.setAttribute("aria-expanded", String(open));
    if (open) state.unread = 0;
    describeLauncher();
    layout();
    post({ type: "helpline:visibility", open });
    if (!focus) return;
    if (open) frame.focus();
    else if (state.ready) launcher.focus();
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== chatOrigin || event.source !== frame.contentWindow) return;
    const data = event.data || {};
    if (data.type === "helpline:ready") {
      state.ready = true;
      state.brand = String(data.brand || state.brand);
      frame.title = `Chat with ${state.brand}`;
      css(launcher, { background: String(data.accent || "#1f5fbf"), color: String(data.accentText || "#ffffff") });
      describeLauncher();
      layout();
      post({ type: "helpline:visibility", open: state.open });
    } else if (data.type === "helpline:unread") {
      state.unread = state.open ? 0 : Math.max(0, Number(data.count) || 0);
      describeLauncher();
    } else if (data.type === "helpline:close") {
      setOpen(false);
    } else if (data.type === "helpline:token-request" && tokenUrl) {
      fetchToken();
    }
  });
  // An identified customer's token, from the site's own backend, handed to the frame only (never "*").
  async function fetchToken() {
    let token = null;
    try {
      const response = await fetch(tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) token = (await response.json()).access_token || null;
    } catch {
      token = null;
    }
    post({ type: "helpline:token", token });
  }

  frame.addEventListener("load", () => {
    // The handshake: the frame learns the host origin from this message's (browser-set) origin.
    post({ type: "helpline:init", identified: Boolean(tokenUrl) });
  });
  launcher.addEventListener("click", () => setOpen(!state.open));
  PHONE.addEventListener("change", layout);

  state.open = sessionStorage.getItem(OPEN_KEY) === "1" || (sessionStorage.getItem(OPEN_KEY) === null && script.dataset.open === "true");
  launcher.setAttribute("aria-expanded", String(state.open));
  describeLauncher();
  layout();

  function mount() {
    document.body.append(frame, launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.HelplineWidget = {
    open: () => setOpen(true),
    close: () => setOpen(false),
    toggle: () => setOpen(!state.open),
  };
})();
