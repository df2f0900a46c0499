// Helpline web chat: one customer, one conversation at a time, answers streamed as they are written.
// The page gets its widget token in the URL fragment (#token=...), minted by the embedding company's backend
// with POST /v1/widget-tokens; the fragment never reaches a server. Everything else is the public API.

import { ApiProblem, describe, problemFrom } from "./problems.js";
import { SSEParser } from "./sse.js";

const TOKEN_KEY = "helpline.widgetToken";
const CONVERSATION_KEY = "helpline.conversationId";
const POLL_SECONDS = 10; // while a person handles the conversation: how often their replies are fetched
const STATE_TEXT = {
  bot: "Ask us anything: our assistant answers right away.",
  waiting_human: "Waiting for a person to join. You can keep writing: they will read everything.",
  with_agent: "A person from our team is with you.",
  resolved: "This conversation has been resolved.",
  closed: "This conversation is closed.",
};
const WHO = { customer: "You", assistant: "Assistant", agent: "Support agent", system: "Notice" };
const AVATAR = { customer: "", assistant: "A", agent: "S", system: "" }; // an initial; the widget shows the tenant's picture
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

const el = {
  log: document.getElementById("log"),
  typing: document.getElementById("typing"),
  alert: document.getElementById("alert"),
  form: document.getElementById("composer"),
  input: document.getElementById("message"),
  send: document.getElementById("send"),
  human: document.getElementById("human"),
  restart: document.getElementById("restart"),
  state: document.getElementById("conversation-state"),
};

const chat = {
  token: null,
  conversation: null,
  busy: false,
  blockedUntil: 0,
  sessionExpired: false,
  shown: new Set(), // ids of messages on screen
  pollTimer: null,
  countdownTimer: null,
};

// --- credentials -------------------------------------------------------------------------------------------
function takeToken() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromLink = fragment.get("token");
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    sessionStorage.removeItem(CONVERSATION_KEY); // a new link may be a new end user
    history.replaceState(null, "", window.location.pathname + window.location.search); // keep it out of the address bar
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function tokenExpired(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" && payload.exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

// --- the API -----------------------------------------------------------------------------------------------
async function request(method, path, { body, accept = "application/json", idempotencyKey } = {}) {
  // The embedding widget renews its visitor token in sessionStorage: always send the newest one.
  const token = sessionStorage.getItem(TOKEN_KEY) || chat.token;
  const headers = { Authorization: `Bearer ${token}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiProblem(0, {}, null); // offline, or the service cannot be reached
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

async function api(method, path, body) {
  const response = await request(method, path, { body });
  return response.status === 204 ? null : response.json();
}

// --- rendering ---------------------------------------------------------------------------------------------
function showAlert(text) {
  el.alert.textContent = text;
  el.alert.hidden = !text;
}

function setState(conversation) {
  chat.conversation = conversation;
  if (conversation) sessionStorage.setItem(CONVERSATION_KEY, conversation.id);
  const status = conversation ? conversation.status : "bot";
  el.state.textContent = STATE_TEXT[status] || "";
  el.state.dataset.status = status;
  const ended = status === "resolved" || status === "closed";
  el.restart.hidden = !ended;
  el.human.hidden = ended || status === "waiting_human" || status === "with_agent";
  updateControls();
  if (status === "waiting_human" || status === "with_agent") startPolling();
  else stopPolling();
}

function updateControls() {
  const ended = chat.conversation && ["resolved", "closed"].includes(chat.conversation.status);
  const waiting = Date.now() < chat.blockedUntil;
  const blocked = chat.busy || waiting || chat.sessionExpired || ended;
  el.send.disabled = blocked;
  el.human.disabled = chat.busy || chat.sessionExpired;
  el.input.disabled = chat.sessionExpired || ended;
  el.send.textContent = waiting ? `Wait ${Math.ceil((chat.blockedUntil - Date.now()) / 1000)} s` : "Send";
}

function blockFor(seconds) {
  if (!seconds) return;
  chat.blockedUntil = Date.now() + seconds * 1000;
  clearInterval(chat.countdownTimer);
  chat.countdownTimer = setInterval(() => {
    updateControls();
    if (Date.now() >= chat.blockedUntil) clearInterval(chat.countdownTimer);
  }, 1000);
  updateControls();
}

function report(error) {
  if (!(error instanceof ApiProblem)) {
    console.error(error);
    showAlert("Something went wrong in this page. Please reload it.");
    return;
  }
  const { text, waitSeconds, session, conversation } = describe(error.status, error.problem, error.retryAfter);
  showAlert(text);
  blockFor(waitSeconds);
  if (session === "expired") {
    chat.sessionExpired = true;
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
  }
  if (conversation === "gone") {
    forgetConversation();
  } else if (conversation === "ended" && chat.conversation) {
    setState({ ...chat.conversation, status: "closed" });
  }
  updateControls();
}

function stamp(item, at) {
  const time = item.querySelector("time");
  const moment = at ? new Date(at) : new Date();
  time.dateTime = moment.toISOString();
  time.textContent = CLOCK.format(moment);
}

function messageItem(role, text, at) {
  const item = document.createElement("li");
  item.className = `message message--${role}`;
  const who = document.createElement("p");
  who.className = "message__who";
  if (AVATAR[role]) {
    const avatar = document.createElement("span");
    avatar.className = "message__avatar";
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = AVATAR[role];
    who.append(avatar);
  }
  who.append(WHO[role] || role, " ");
  const time = document.createElement("time");
  time.className = "message__time";
  who.append(time);
  const body = document.createElement("p");
  body.className = "message__text";
  body.textContent = text;
  item.append(who, body);
  stamp(item, at);
  el.log.append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function finishAssistant(item, message) {
  item.dataset.messageId = message.id;
  chat.shown.add(message.id);
  item.querySelector(".message__text").textContent = message.content;
  stamp(item, message.created_at);
  if (message.status === "partial") markInterrupted(item);
  if (message.sources && message.sources.length) item.append(sourcesList(message.sources));
  if (message.no_answer && !el.human.hidden) item.append(offerPerson());
  if (message.content) item.append(feedbackControls(message.id));
  item.scrollIntoView({ block: "end" }); // the rating buttons too
}

// Only web addresses become links: a javascript: or data: URL in an article must never run in the page.
function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// The help-centre articles (or the team's curated answer) an answer is grounded in, as links.
function sourcesList(sources) {
  const box = document.createElement("div");
  box.className = "message__sources";
  const heading = document.createElement("p");
  heading.className = "message__sources-title";
  heading.id = `sources-${Math.random().toString(36).slice(2)}`;
  heading.textContent = "Sources";
  const list = document.createElement("ul");
  list.setAttribute("aria-labelledby", heading.id);
  for (const source of sources) {
    const entry = document.createElement("li");
    const url = source.kind === "article" && source.url ? safeUrl(source.url) : null;
    const title = source.kind === "curated" ? "Answer from our team" : source.title || "Help centre article";
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = title;
      entry.append(link);
    } else {
      entry.append(title);
    }
    if (source.kind === "article" && source.passage && source.passage !== title) {
      const where = document.createElement("span");
      where.className = "message__source-passage";
      where.textContent = ` (${source.passage})`;
      entry.append(where);
    }
    list.append(entry);
  }
  box.append(heading, list);
  return box;
}

// "I can't answer that": the person the reply offers is one click away, right under it.
function offerPerson() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button message__handoff";
  button.textContent = "Yes, connect me with a person";
  button.addEventListener("click", async () => {
    button.disabled = true;
    await askForHuman();
    if (!el.human.hidden) button.disabled = false; // the request failed: the alert says why, try again
    else button.remove();
  });
  return button;
}

function markInterrupted(item) {
  item.classList.add("message--partial");
  const note = document.createElement("p");
  note.className = "message__note";
  note.textContent = "This answer was interrupted.";
  item.append(note);
}

// Shows a stored message unless it is on screen already; true when it was new.
function renderMessage(message) {
  if (chat.shown.has(message.id)) return false;
  if (message.role === "assistant") {
    if (message.status === "streaming") return false; // still being written; shown once finished
    finishAssistant(messageItem("assistant", ""), message);
    return true;
  }
  chat.shown.add(message.id);
  messageItem(message.role, message.content, message.created_at).dataset.messageId = message.id;
  return true;
}

// --- feedback ----------------------------------------------------------------------------------------------
function feedbackControls(messageId) {
  const box = document.createElement("div");
  box.className = "feedback";
  const group = document.createElement("div");
  group.className = "feedback__choices";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", "Was this answer helpful?");
  const question = document.createElement("span");
  question.className = "feedback__question";
  question.textContent = "Helpful?";
  question.setAttribute("aria-hidden", "true");
  const up = ratingButton("Yes", "up", "Helpful");
  const down = ratingButton("No", "down", "Not helpful");
  group.append(question, up, down);

  const form = document.createElement("form");
  form.className = "feedback__comment";
  form.hidden = true;
  const commentId = `comment-${messageId}`;
  const label = document.createElement("label");
  label.htmlFor = commentId;
  label.textContent = "Anything to add? (optional)";
  const comment = document.createElement("textarea");
  comment.id = commentId;
  comment.rows = 2;
  comment.maxLength = 1000;
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "button";
  submit.textContent = "Send comment";
  form.append(label, comment, submit);

  const status = document.createElement("p");
  status.className = "feedback__status";
  status.setAttribute("role", "status");
  box.append(group, form, status);

  let rating = null;
  async function send(withComment) {
    const body = { rating };
    const text = comment.value.trim();
    if (withComment && text) body.comment = text;
    try {
      await api("POST", `/v1/conversations/${chat.conversation.id}/messages/${messageId}/feedback`, body);
      status.textContent = withComment && text ? "Thank you, your comment was sent." : "Thanks for your feedback.";
      if (withComment) form.hidden = true;
    } catch (error) {
      report(error);
    }
  }
  for (const button of [up, down]) {
    button.addEventListener("click", async () => {
      rating = button.dataset.rating;
      up.setAttribute("aria-pressed", String(rating === "up"));
      down.setAttribute("aria-pressed", String(rating === "down"));
      form.hidden = false;
      await send(false);
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await send(true);
  });
  return box;
}

function ratingButton(text, rating, name) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `button button--small feedback__${rating}`;
  button.textContent = text;
  button.dataset.rating = rating;
  button.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-label", name);
  return button;
}

// --- conversation ------------------------------------------------------------------------------------------
function forgetConversation() {
  chat.conversation = null;
  sessionStorage.removeItem(CONVERSATION_KEY);
  stopPolling();
}

async function ensureConversation() {
  if (chat.conversation) return chat.conversation;
  const conversation = await api("POST", "/v1/conversations", {});
  setState(conversation);
  return conversation;
}

// Renders the messages not on screen yet; returns how many system notices were new (status changes).
async function loadMessages() {
  let cursor = null;
  let notices = 0;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `/v1/conversations/${chat.conversation.id}/messages?${query}`);
    for (const message of page.items) {
      if (renderMessage(message) && message.role === "system") notices += 1;
    }
    cursor = page.next_cursor;
  } while (cursor);
  return notices;
}

async function resume() {
  const id = sessionStorage.getItem(CONVERSATION_KEY);
  if (!id) return;
  try {
    setState(await api("GET", `/v1/conversations/${id}`));
    await loadMessages();
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) forgetConversation();
    else report(error);
  }
}

function startPolling() {
  if (chat.pollTimer) return;
  // One request per poll (it counts against the chat's rate limit); the status is re-read only when the team
  // posted a notice (an agent joined, the conversation was resolved).
  chat.pollTimer = setInterval(async () => {
    if (chat.busy || !chat.conversation || Date.now() < chat.blockedUntil) return;
    try {
      if ((await loadMessages()) > 0) setState(await api("GET", `/v1/conversations/${chat.conversation.id}`));
    } catch (error) {
      report(error);
    }
  }, POLL_SECONDS * 1000);
}

function stopPolling() {
  clearInterval(chat.pollTimer);
  chat.pollTimer = null;
}

// --- one turn ----------------------------------------------------------------------------------------------
async function sendMessage(text) {
  chat.busy = true;
  updateControls();
  showAlert("");
  el.typing.textContent = "";
  const pending = messageItem("customer", text);
  let answer = null;
  let finished = false;
  try {
    const conversation = await ensureConversation();
    const response = await request("POST", `/v1/conversations/${conversation.id}/messages`, {
      body: { content: text },
      accept: "text/event-stream",
      idempotencyKey: crypto.randomUUID(),
    });
    el.input.value = "";
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SSEParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.feed(value)) {
        const data = JSON.parse(event.data);
        if (event.event === "message") {
          pending.dataset.messageId = data.message.id;
          chat.shown.add(data.message.id);
          setState(data.conversation);
          if (data.conversation.status === "bot") {
            answer = messageItem("assistant", "");
            el.log.setAttribute("aria-busy", "true"); // announce the answer once, when it is complete
            el.typing.textContent = "The assistant is writing…";
          }
        } else if (event.event === "delta" && answer) {
          const body = answer.querySelector(".message__text");
          body.textContent += data.text;
          answer.scrollIntoView({ block: "end" });
        } else if (event.event === "done") {
          finished = true;
          if (data.message && answer) finishAssistant(answer, data.message);
          else if (!data.message) {
            answer?.remove();
            el.typing.textContent = "Sent. Our team will answer here.";
          }
          setState(data.conversation);
        } else if (event.event === "error") {
          finished = true;
          if (answer) markInterrupted(answer);
          report(new ApiProblem(data.problem.status, data.problem, null));
        }
      }
    }
    if (!finished) {
      if (answer) markInterrupted(answer);
      report(new ApiProblem(0, {}, null));
    }
  } catch (error) {
    if (!pending.dataset.messageId) pending.remove(); // never stored: put the text back to send again
    if (!el.input.value) el.input.value = text;
    report(error);
  } finally {
    el.log.setAttribute("aria-busy", "false");
    if (answer) el.typing.textContent = "";
    chat.busy = false;
    updateControls();
  }
}

async function askForHuman() {
  chat.busy = true;
  updateControls();
  try {
    const conversation = await ensureConversation();
    setState(
      await api("POST", `/v1/conversations/${conversation.id}/handoff`, { reason: "Asked from the web chat" }),
    );
    await loadMessages(); // shows the team's notice that a person was requested
    showAlert("");
  } catch (error) {
    report(error);
  } finally {
    chat.busy = false;
    updateControls();
  }
}

function startOver() {
  forgetConversation();
  chat.shown.clear();
  el.log.replaceChildren();
  showAlert("");
  setState(null);
  el.input.focus();
}

// --- wiring ------------------------------------------------------------------------------------------------
el.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = el.input.value.trim();
  if (!text || el.send.disabled) return;
  sendMessage(text);
});
el.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    el.form.requestSubmit();
  }
});
el.human.addEventListener("click", askForHuman);
el.restart.addEventListener("click", startOver);

chat.token = takeToken();
if (!chat.token || tokenExpired(chat.token)) {
  chat.sessionExpired = true;
  el.state.textContent = "Chat unavailable";
  el.human.hidden = true;
  showAlert(
    chat.token
      ? "Your chat session has expired. Please reload the page from the website you came from."
      : "This page needs a chat link from the website you came from.",
  );
  updateControls();
} else {
  setState(null);
  await resume();
}
document.body.dataset.ready = "true"; // for tests and embedders: the page is wired up
