// The widget's frame: the web chat (chat.js) in the tenant's colours, on a visitor token, talking to its host
// page only through checked postMessage. Order of events:
//   1. read the key's public config (branding, allowed sites);
//   2. wait for the loader's "helpline:init" from the parent; its browser-set origin must be an allowed site;
//   3. get a visitor token (a returning visitor's secret is in this origin's localStorage, which browsers
//      partition per embedding site), hand it and the visitor's conversation to chat.js, and start it;
//   4. tell the page it is ready (brand, colours), count replies that arrive while closed (the unread badge),
//      keep the conversation across page loads, ask for a rating (CSAT) once a person resolved it.

import { ApiProblem, describe, problemFrom } from "/chat/assets/problems.js";

const TOKEN_KEY = "helpline.widgetToken"; // read by chat.js
const CONVERSATION_KEY = "helpline.conversationId"; // read and written by chat.js (sessionStorage)
const RENEW_BEFORE_SECONDS = 120;

const key = new URLSearchParams(window.location.search).get("key") || "";
const stored = {
  visitor: `helpline.widget.${key}.visitor`,
  conversation: `helpline.widget.${key}.conversation`,
  rated: `helpline.widget.${key}.rated`,
};
const el = {
  title: document.getElementById("chat-title"),
  state: document.getElementById("conversation-state"),
  avatar: document.getElementById("brand-avatar"),
  close: document.getElementById("close"),
  log: document.getElementById("log"),
  input: document.getElementById("message"),
  alert: document.getElementById("alert"),
  csat: document.getElementById("csat"),
  csatForm: document.getElementById("csat-form"),
  csatStatus: document.getElementById("csat-status"),
};
const frame = { host: null, open: false, unread: 0, started: false, greeting: null };

// --- messages with the host page ---------------------------------------------------------------------------
// The loader's first message names the host: its origin is set by the browser, and is checked against the
// tenant's allowed sites once the config is read. Later messages must come from the same parent and origin.
let resolveInit;
const initialised = new Promise((resolve) => {
  resolveInit = resolve;
});
let resolveHostToken = null;

function toHost(message) {
  if (frame.host) window.parent.postMessage(message, frame.host); // never "*": only the checked site
}

function originAllowed(origin, allowed) {
  return allowed.some((pattern) => {
    if (pattern === origin) return true;
    const [scheme, rest] = pattern.split("://");
    return rest.startsWith("*.") && origin.startsWith(`${scheme}://`) && origin.endsWith(rest.slice(1));
  });
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || window.parent === window) return;
  const data = event.data || {};
  if (data.type === "helpline:init") {
    resolveInit({ origin: event.origin, identified: Boolean(data.identified) });
  } else if (data.type === "helpline:token" && frame.host && event.origin === frame.host && resolveHostToken) {
    resolveHostToken(typeof data.token === "string" ? data.token : null);
    resolveHostToken = null;
  } else if (data.type === "helpline:visibility" && frame.host && event.origin === frame.host) {
    frame.open = Boolean(data.open);
    if (frame.open) {
      frame.unread = 0;
      if (!el.input.disabled) el.input.focus();
    }
  }
});

function close() {
  toHost({ type: "helpline:close" });
}
el.close.addEventListener("click", close);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") close();
});

// --- the API (before chat.js runs) -------------------------------------------------------------------------
async function publicCall(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "Content-Type": "application/json", Accept: "application/json" } : { Accept: "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiProblem(0, {}, null);
  }
  if (!response.ok) throw await problemFrom(response);
  return response.json();
}

function secondsLeft(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload.exp - Date.now() / 1000;
  } catch {
    return 0;
  }
}

// A logged-in customer's token, minted by the site's backend and fetched by the loader (data-token-url).
async function hostToken() {
  const token = await new Promise((resolve) => {
    resolveHostToken = resolve;
    toHost({ type: "helpline:token-request" });
  });
  if (!token || secondsLeft(token) <= 0) throw new ApiProblem(401, { type: "/problems/unauthorized" }, null);
  sessionStorage.setItem(TOKEN_KEY, token);
  const renewIn = Math.max(30, secondsLeft(token) - RENEW_BEFORE_SECONDS);
  setTimeout(() => hostToken().catch(() => {}), renewIn * 1000);
}

async function visitorToken() {
  const session = await publicCall("POST", "/v1/widget/sessions", {
    key_id: key,
    host_origin: frame.host,
    visitor_secret: localStorage.getItem(stored.visitor) || undefined,
  });
  localStorage.setItem(stored.visitor, session.visitor_secret);
  sessionStorage.setItem(TOKEN_KEY, session.access_token);
  // Renewed before it ends (chat.js reads the current token from sessionStorage for every request).
  setTimeout(() => visitorToken().catch(() => {}), Math.max(30, session.expires_in - RENEW_BEFORE_SECONDS) * 1000);
}

// --- branding ----------------------------------------------------------------------------------------------
function luminance(hex) {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = [1, 3, 5].map((i) => channel(parseInt(hex.slice(i, i + 2), 16)));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

// Black or white, whichever contrasts more with the tenant's colour (WCAG contrast ratio).
function textOn(hex) {
  const l = luminance(hex);
  return (1.05 / (l + 0.05) >= (l + 0.05) / 0.05) ? "#ffffff" : "#111111";
}

function brand(config) {
  const root = document.documentElement.style;
  const text = textOn(config.accent_colour);
  root.setProperty("--brand", config.accent_colour);
  root.setProperty("--brand-text", text);
  document.title = `Chat with ${config.brand_name}`;
  el.title.textContent = config.brand_name;
  if (config.avatar) {
    el.avatar.src = config.avatar;
    el.avatar.hidden = false;
    root.setProperty("--assistant-avatar", `url("${config.avatar}")`);
    document.body.classList.add("widget--avatar");
  }
  frame.greeting = config.greeting;
  return text;
}

// The greeting opens every conversation on screen (it is not a stored message).
function keepGreeting() {
  if (!frame.greeting || el.log.querySelector(".message--greeting")) return;
  const item = document.createElement("li");
  item.className = "message message--assistant message--greeting";
  const body = document.createElement("p");
  body.className = "message__text";
  body.textContent = frame.greeting;
  item.append(body);
  el.log.prepend(item);
}

// --- unread badge, persistence, CSAT -----------------------------------------------------------------------
function watchLog() {
  new MutationObserver((records) => {
    keepGreeting();
    if (frame.open || !frame.started) return;
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node instanceof HTMLElement && node.matches(".message:not(.message--customer):not(.message--greeting)")) {
          frame.unread += 1;
        }
      }
    }
    toHost({ type: "helpline:unread", count: frame.unread });
  }).observe(el.log, { childList: true });
}

function conversationId() {
  return sessionStorage.getItem(CONVERSATION_KEY);
}

function onStatus() {
  const id = conversationId();
  if (id) localStorage.setItem(stored.conversation, id);
  else localStorage.removeItem(stored.conversation);
  const status = el.state.dataset.status;
  const rated = id && localStorage.getItem(stored.rated) === id;
  el.csat.hidden = !(status === "resolved" && id && !rated && !el.csatStatus.textContent);
}

el.csatForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = conversationId();
  const choice = el.csatForm.querySelector("input[name=score]:checked");
  if (!id || !choice) return;
  const comment = document.getElementById("csat-comment").value.trim();
  const body = { score: Number(choice.value) };
  if (comment) body.comment = comment;
  try {
    const response = await fetch(`/v1/conversations/${id}/csat`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await problemFrom(response);
    localStorage.setItem(stored.rated, id);
    el.csatForm.hidden = true;
    el.csatStatus.textContent = "Thank you for your rating.";
  } catch (error) {
    const problem = error instanceof ApiProblem ? describe(error.status, error.problem, error.retryAfter) : null;
    el.csatStatus.textContent = problem ? problem.text : "Your rating could not be sent.";
  }
});

function unavailable(text) {
  el.state.textContent = "Chat unavailable";
  el.alert.textContent = text;
  el.alert.hidden = false;
  document.body.dataset.ready = "true";
}

// --- start -------------------------------------------------------------------------------------------------
async function start() {
  let config;
  try {
    config = await publicCall("GET", `/v1/widget/config?key=${encodeURIComponent(key)}`);
  } catch (error) {
    unavailable("This chat is not set up for this site.");
    return;
  }
  const accentText = brand(config);
  const init = await initialised;
  if (!originAllowed(init.origin, config.allowed_origins)) {
    unavailable("This chat is not set up for this site.");
    return;
  }
  frame.host = init.origin;
  if (init.identified) stored.conversation += ".identified"; // a customer's conversation is not a visitor's
  try {
    await (init.identified ? hostToken() : visitorToken());
  } catch (error) {
    const problem = error instanceof ApiProblem ? describe(error.status, error.problem, error.retryAfter) : null;
    unavailable(problem ? problem.text : "The chat cannot start right now.");
    return;
  }
  const conversation = localStorage.getItem(stored.conversation);
  if (conversation) sessionStorage.setItem(CONVERSATION_KEY, conversation);
  keepGreeting();
  watchLog();
  new MutationObserver(onStatus).observe(el.state, { attributes: true, attributeFilter: ["data-status"] });
  await import("/chat/assets/chat.js"); // resumes the conversation, then marks the page ready
  onStatus();
  frame.started = true;
  toHost({ type: "helpline:ready", brand: config.brand_name, accent: config.accent_colour, accentText });
}

start();
