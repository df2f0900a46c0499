// What to tell a customer about an API problem (RFC 9457 problem+json), in plain words.
// describe() returns { text, waitSeconds, session, conversation }:
//   waitSeconds  - how long sending stays disabled (Retry-After), or 0
//   session      - "expired" when the chat link no longer works (nothing can be sent)
//   conversation - "ended" when a new conversation is needed, "gone" when it no longer exists

export class ApiProblem extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export async function problemFrom(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = {};
  }
  return new ApiProblem(response.status, problem || {}, response.headers.get("Retry-After"));
}

function slugOf(problem) {
  const type = String(problem.type || "");
  return type.startsWith("/problems/") ? type.slice("/problems/".length) : "";
}

export function retryAfterSeconds(value) {
  if (value === null || value === undefined || value === "") return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value); // Retry-After may also be an HTTP date
  return Number.isNaN(date) ? 0 : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function humanDuration(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} minutes`;
  return `about ${Math.round(minutes / 60)} hours`;
}

function withReference(text, problem) {
  return problem.request_id ? `${text} (Reference: ${problem.request_id})` : text;
}

export function describe(status, problem = {}, retryAfter = null) {
  const slug = slugOf(problem);
  const wait = retryAfterSeconds(retryAfter);
  const result = { text: "", waitSeconds: 0, session: null, conversation: null };
  if (status === 0) {
    result.text = "We cannot reach the chat service. Check your connection and try again.";
  } else if (status === 401) {
    result.text = "Your chat session has expired. Please reload the page from the website you came from.";
    result.session = "expired";
  } else if (status === 403) {
    result.text = "This chat link does not allow that.";
  } else if (status === 404) {
    result.text = "This conversation is no longer available. Your next message starts a new one.";
    result.conversation = "gone";
  } else if (slug === "conversation-closed") {
    result.text = "This conversation has ended. Start a new conversation to keep chatting.";
    result.conversation = "ended";
  } else if (status === 409) {
    result.text = problem.detail || "That is not possible right now.";
  } else if (slug === "message-too-long" || status === 413 || status === 422) {
    result.text = "That message is too long. Please shorten it and send it again.";
  } else if (slug === "context-length-exceeded") {
    result.text = "This conversation has become too long for the assistant. Please start a new conversation.";
    result.conversation = "ended";
  } else if (slug === "quota-exceeded") {
    result.waitSeconds = wait;
    result.text = `This chat has used up today's message allowance. It resets in ${humanDuration(wait || 3600)}.`;
  } else if (slug === "too-many-streams") {
    result.waitSeconds = wait || 5;
    result.text = `Too many answers are being written at once. Please try again in ${humanDuration(result.waitSeconds)}.`;
  } else if (status === 429) {
    result.waitSeconds = wait || 10;
    result.text = `You are sending messages faster than we can answer. Please wait ${humanDuration(result.waitSeconds)}.`;
  } else if (status === 502 || status === 503 || status === 504) {
    result.waitSeconds = wait;
    result.text = withReference(
      "Our assistant is not available right now. Please try again in a moment, or ask to talk to a person.",
      problem,
    );
  } else {
    result.text = withReference(problem.title || "Something went wrong on our side. Please try again.", problem);
  }
  return result;
}
