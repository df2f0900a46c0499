// Helpline agent workspace: sign in, watch the queue live, claim, read, reply, resolve or hand back.
// Uses only the public API: POST /v1/auth/token, the agent desk (/v1/agent/...) and GET /v1/conversations/{id}.
// The access token lives in sessionStorage (this tab only); a 401 anywhere signs the agent out.

import { SSEParser } from "./sse.js";

const TOKEN_KEY = "helpline.agent.token";
const EMAIL_KEY = "helpline.agent.email";
const TENANT_KEY = "helpline.agent.tenant";
const RETRY_SECONDS = 2; // after a dropped queue stream
const PAGE = 100;
const STATUS_TEXT = {
  bot: "With the assistant",
  waiting_human: "Waiting for a person",
  with_agent: "With an agent",
  resolved: "Resolved",
  closed: "Closed",
};
const WHO = { customer: "Customer", assistant: "Assistant", agent: "Agent", system: "Notice" };

const $ = (id) => document.getElementById(id);
const el = {
  signin: $("signin"), signinForm: $("signin-form"), signinError: $("signin-error"), signinSubmit: $("signin-submit"),
  tenant: $("tenant"), email: $("email"), password: $("password"),
  desk: $("desk"), live: $("live"), who: $("who"), signout: $("signout"),
  views: Array.from(document.querySelectorAll(".view")), statusFilter: $("status-filter"),
  statusFilterLabel: $("status-filter-label"), queue: $("queue"), queueEmpty: $("queue-empty"),
  countWaiting: $("count-waiting"), countMine: $("count-mine"),
  title: $("conversation-title"), meta: $("conversation-meta"),
  claim: $("claim"), handBack: $("hand-back"), resolve: $("resolve"),
  transcript: $("transcript"), alert: $("desk-alert"), replyForm: $("reply-form"), reply: $("reply"), send: $("send"),
};

const desk = {
  token: null,
  claims: null,
  view: "waiting",
  queue: { waiting_human: [], with_agent: [] },
  all: [],
  selected: null, // the open conversation (as last seen)
  stream: null, // AbortController of the queue stream
  loading: 0, // generation of the open conversation's last load (a newer load wins)
};

// --- the API -----------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function request(method, path, body) {
  const headers = { Authorization: `Bearer ${desk.token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { title: "The service cannot be reached. Check your connection." });
  }
  if (response.status === 401) {
    signOut("Your session has ended. Please sign in again.");
    throw new ApiError(401, { title: "Signed out" });
  }
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { problem = {}; }
    throw new ApiError(response.status, problem || {});
  }
  return response.status === 204 ? null : response.json();
}

function claimsOf(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}

function isMine(conversation) {
  return conversation.assigned_agent_id === desk.claims.sub;
}

function canHandle(conversation) {
  if (conversation.status === "waiting_human") return true;
  return conversation.status === "with_agent" && (isMine(conversation) || desk.claims.role === "admin");
}

// --- sign in and out ---------------------------------------------------------------------------------------
function showSignIn(message) {
  el.desk.hidden = true;
  el.signin.hidden = false;
  el.tenant.value = sessionStorage.getItem(TENANT_KEY) || el.tenant.value;
  el.email.value = sessionStorage.getItem(EMAIL_KEY) || el.email.value;
  el.signinError.hidden = !message;
  el.signinError.textContent = message || "";
  (el.tenant.value ? (el.email.value ? el.password : el.email) : el.tenant).focus();
}

function signOut(message) {
  desk.stream?.abort();
  desk.stream = null;
  desk.token = null;
  desk.selected = null;
  sessionStorage.removeItem(TOKEN_KEY);
  document.body.dataset.signedIn = "false";
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const body = { tenant: el.tenant.value.trim(), email: el.email.value.trim(), password: el.password.value };
  if (!body.tenant || !body.email || !body.password) {
    showSignIn("Enter your workspace, email and password.");
    return;
  }
  el.signinSubmit.disabled = true;
  try {
    const response = await fetch("/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const wait = response.headers.get("Retry-After");
      showSignIn(response.status === 429
        ? `Too many attempts. Try again in ${wait || "a few"} seconds.`
        : "The workspace, email and password do not match.");
      return;
    }
    const token = (await response.json()).access_token;
    const claims = claimsOf(token);
    if (!claims || !["agent", "admin"].includes(claims.role)) {
      showSignIn("This account cannot use the agent workspace.");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(EMAIL_KEY, body.email);
    sessionStorage.setItem(TENANT_KEY, body.tenant);
    el.password.value = "";
    startDesk(token);
  } catch {
    showSignIn("The service cannot be reached. Check your connection.");
  } finally {
    el.signinSubmit.disabled = false;
  }
}

function startDesk(token) {
  desk.token = token;
  desk.claims = claimsOf(token);
  el.signin.hidden = true;
  el.desk.hidden = false;
  el.who.textContent = `${sessionStorage.getItem(EMAIL_KEY) || "Signed in"} (${desk.claims.role})`;
  document.body.dataset.signedIn = "true";
  renderConversation();
  watchQueue();
  el.views[0].focus();
}

// --- the live queue (SSE over fetch: EventSource cannot send the Authorization header) ----------------------
async function watchQueue() {
  const controller = new AbortController();
  desk.stream = controller;
  while (!controller.signal.aborted) {
    try {
      const response = await fetch("/v1/agent/queue/events", {
        headers: { Authorization: `Bearer ${desk.token}`, Accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (response.status === 401) {
        signOut("Your session has ended. Please sign in again.");
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      el.live.textContent = "Live";
      await readQueue(response.body);
    } catch {
      if (controller.signal.aborted) return;
      el.live.textContent = "Reconnecting…";
      await new Promise((resolve) => setTimeout(resolve, RETRY_SECONDS * 1000));
    }
  }
}

async function readQueue(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const event of parser.feed(value)) {
      if (event.event === "queue") onQueue(JSON.parse(event.data));
      else if (event.event === "error") throw new Error(event.data);
      else if (event.event === "reconnect") return;
    }
  }
}

function onQueue(queue) {
  desk.queue = queue;
  renderQueue();
  if (desk.view === "all") loadAll();
  const open = desk.selected;
  if (!open) return;
  const now = [...queue.waiting_human, ...queue.with_agent].find((item) => item.id === open.id);
  const changed = now
    ? now.updated_at !== open.updated_at || now.status !== open.status || now.assigned_agent_id !== open.assigned_agent_id
    : open.status === "waiting_human" || open.status === "with_agent"; // it left the queue: resolved, handed back...
  if (changed) openConversation(open.id, now);
}

// --- the inbox ---------------------------------------------------------------------------------------------
function visibleConversations() {
  if (desk.view === "waiting") return desk.queue.waiting_human;
  if (desk.view === "mine") return desk.queue.with_agent.filter(isMine);
  return desk.all;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function conversationName(conversation) {
  return conversation.customer_ref || `Visitor ${conversation.id.slice(-6)}`;
}

function renderQueue() {
  el.countWaiting.textContent = String(desk.queue.waiting_human.length);
  el.countMine.textContent = String(desk.queue.with_agent.filter(isMine).length);
  const focusedId = document.activeElement?.dataset?.conversationId;
  const items = visibleConversations();
  el.queue.replaceChildren(...items.map((conversation) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "queue__item";
    button.dataset.conversationId = conversation.id;
    if (desk.selected?.id === conversation.id) button.setAttribute("aria-current", "true");
    const title = document.createElement("span");
    title.className = "queue__title";
    title.textContent = conversationName(conversation);
    const meta = document.createElement("span");
    meta.className = "queue__meta";
    let who = "";
    if (conversation.status === "with_agent") who = isMine(conversation) ? " · yours" : " · another agent";
    meta.textContent = `${STATUS_TEXT[conversation.status] || conversation.status}${who} · last activity ${time(conversation.updated_at)}`;
    button.append(title, meta);
    button.addEventListener("click", () => openConversation(conversation.id, conversation));
    li.append(button);
    return li;
  }));
  el.queueEmpty.hidden = items.length > 0;
  el.queueEmpty.textContent = desk.view === "waiting"
    ? "Nothing waiting. New conversations appear here by themselves."
    : desk.view === "mine" ? "You have no conversations. Claim one from Waiting." : "No conversations in this status.";
  if (focusedId) el.queue.querySelector(`[data-conversation-id="${focusedId}"]`)?.focus();
}

async function loadAll() {
  try {
    const page = await request("GET", `/v1/agent/conversations?status=${el.statusFilter.value}&limit=${PAGE}`);
    desk.all = page.items;
    if (desk.view === "all") renderQueue();
  } catch (error) {
    showAlert(error);
  }
}

function setView(view) {
  desk.view = view;
  for (const button of el.views) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  el.statusFilter.hidden = el.statusFilterLabel.hidden = view !== "all";
  renderQueue();
  if (view === "all") loadAll();
}

// --- the conversation --------------------------------------------------------------------------------------
async function allMessages(id) {
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < 20; pages += 1) {
    const query = `limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await request("GET", `/v1/agent/conversations/${id}/messages?${query}`);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

async function openConversation(id, known) {
  const generation = ++desk.loading;
  if (desk.selected?.id !== id) {
    el.alert.hidden = true;
    el.transcript.replaceChildren();
  }
  desk.selected = known || desk.selected;
  try {
    const [conversation, messages, classifications, guardrails] = await Promise.all([
      request("GET", `/v1/conversations/${id}`),
      allMessages(id),
      request("GET", `/v1/agent/conversations/${id}/classifications`),
      request("GET", `/v1/agent/conversations/${id}/guardrail-events`),
    ]);
    if (generation !== desk.loading) return; // a newer load started meanwhile
    desk.selected = conversation;
    renderConversation();
    renderTranscript(messages, classifications, guardrails);
    renderQueue();
  } catch (error) {
    if (generation === desk.loading) showAlert(error);
  }
}

function renderConversation() {
  const conversation = desk.selected;
  el.claim.hidden = el.handBack.hidden = el.resolve.hidden = el.replyForm.hidden = true;
  if (!conversation) {
    el.title.textContent = "No conversation selected";
    el.meta.textContent = "Choose one in the inbox.";
    return;
  }
  el.title.textContent = conversationName(conversation);
  let meta = `${STATUS_TEXT[conversation.status] || conversation.status} · started ${time(conversation.created_at)}`;
  if (conversation.status === "with_agent") meta += isMine(conversation) ? " · you have it" : " · another agent has it";
  el.meta.textContent = meta;
  const handling = canHandle(conversation);
  el.claim.hidden = conversation.status !== "waiting_human";
  el.handBack.hidden = el.resolve.hidden = !handling;
  el.replyForm.hidden = !(conversation.status === "with_agent" && handling);
}

function entry(kind, who, when, text) {
  const li = document.createElement("li");
  li.className = `entry entry--${kind}`;
  const head = document.createElement("div");
  head.className = "entry__head";
  const name = document.createElement("span");
  name.className = "entry__who";
  name.textContent = who;
  const stamp = document.createElement("time");
  stamp.dateTime = when;
  stamp.textContent = time(when);
  head.append(name, stamp);
  const body = document.createElement("p");
  body.className = "entry__text";
  body.textContent = text;
  li.append(head, body);
  return li;
}

function tags(li, labels) {
  const list = document.createElement("div");
  list.className = "tags";
  for (const [kind, label] of labels) {
    const tag = document.createElement("span");
    tag.className = `tag tag--${kind}`;
    tag.textContent = label;
    list.append(tag);
  }
  li.append(list);
}

function renderTranscript(messages, classifications, guardrails) {
  const verdicts = new Map(classifications.map((item) => [item.message_id, item]));
  const rows = [
    ...messages.map((message) => ({ at: message.created_at, message })),
    ...guardrails.map((event) => ({ at: event.created_at, guardrail: event })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const atBottom = el.transcript.scrollHeight - el.transcript.scrollTop - el.transcript.clientHeight < 40;
  el.transcript.replaceChildren(...rows.map(({ message, guardrail }) => {
    if (guardrail) {
      const li = entry("guardrail", "Guardrail", guardrail.created_at, guardrail.reason);
      li.dataset.guardrail = guardrail.id;
      tags(li, [["stage", `${guardrail.stage} guardrail`], ["category", guardrail.category], ["action", guardrail.action]]);
      return li;
    }
    const li = entry(message.role, WHO[message.role] || message.role, message.created_at, message.content);
    li.dataset.messageId = message.id;
    const verdict = verdicts.get(message.id);
    if (message.role === "customer" && verdict) {
      const labels = [];
      if (verdict.intent) labels.push(["intent", `intent: ${verdict.intent}`]);
      if (verdict.emotion) labels.push(["emotion", `emotion: ${verdict.emotion}`]);
      if (labels.length) tags(li, labels);
    }
    if (message.role === "assistant") {
      const labels = [];
      if (message.status !== "complete") labels.push(["status", message.status]);
      if (message.no_answer) labels.push(["status", "no answer in the knowledge base"]);
      if (labels.length) tags(li, labels);
      if (message.sources?.length) {
        const sources = document.createElement("ul");
        sources.className = "sources";
        sources.setAttribute("aria-label", "Sources");
        for (const source of message.sources) {
          const item = document.createElement("li");
          item.textContent = source.passage ? `${source.title} — ${source.passage}` : source.title;
          sources.append(item);
        }
        li.append(sources);
      }
    }
    return li;
  }));
  if (atBottom || el.transcript.dataset.conversation !== desk.selected.id) {
    el.transcript.scrollTop = el.transcript.scrollHeight;
  }
  el.transcript.dataset.conversation = desk.selected.id;
}

function showAlert(error) {
  if (error.status === 401) return; // already signed out
  el.alert.textContent = error.status === 409 && error.problem?.detail ? error.problem.detail : error.message;
  el.alert.hidden = false;
}

async function act(action) {
  const conversation = desk.selected;
  if (!conversation) return;
  el.alert.hidden = true;
  try {
    desk.selected = await request("POST", `/v1/agent/conversations/${conversation.id}/${action}`);
  } catch (error) {
    showAlert(error);
  }
  await openConversation(conversation.id);
  if (action === "claim" && !el.replyForm.hidden) el.reply.focus();
}

async function sendReply(event) {
  event.preventDefault();
  const content = el.reply.value.trim();
  const conversation = desk.selected;
  if (!content || !conversation) return;
  el.send.disabled = true;
  el.alert.hidden = true;
  try {
    await request("POST", `/v1/agent/conversations/${conversation.id}/messages`, { content });
    el.reply.value = "";
  } catch (error) {
    showAlert(error);
  } finally {
    el.send.disabled = false;
  }
  await openConversation(conversation.id);
  el.reply.focus();
}

// --- wiring ------------------------------------------------------------------------------------------------
el.signinForm.addEventListener("submit", signIn);
el.signout.addEventListener("click", () => signOut(""));
for (const button of el.views) button.addEventListener("click", () => setView(button.dataset.view));
el.statusFilter.addEventListener("change", loadAll);
el.claim.addEventListener("click", () => act("claim"));
el.resolve.addEventListener("click", () => act("resolve"));
el.handBack.addEventListener("click", () => act("hand-back"));
el.replyForm.addEventListener("submit", sendReply);
el.reply.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) el.replyForm.requestSubmit();
});

const saved = sessionStorage.getItem(TOKEN_KEY);
const savedClaims = saved ? claimsOf(saved) : null;
if (saved && savedClaims && savedClaims.exp * 1000 > Date.now()) startDesk(saved);
else showSignIn("");
document.body.dataset.ready = "true";
