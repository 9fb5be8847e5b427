// The JSON API, with the CSRF header on every state-changing request and errors as ApiError.

const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, message, body = {}) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, err.message);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error || response.statusText, data);
  return data;
}

export const api = {
  listConversations: (q = "") =>
    request("GET", `/api/conversations${q ? `?q=${encodeURIComponent(q)}` : ""}`),
  createConversation: () => request("POST", "/api/conversations", {}),
  getConversation: (id) => request("GET", `/api/conversations/${id}`),
  deleteConversation: (id) => request("DELETE", `/api/conversations/${id}`),
  renameConversation: (id, title) => request("PATCH", `/api/conversations/${id}`, { title }),
  exportUrl: (id, format) => `/api/conversations/${id}/export?format=${format}`,
  postMessage: (id, text, options) =>
    request("POST", `/api/conversations/${id}/messages`, { text, options, explain: true }),
  reply: (id, options) =>
    request("POST", `/api/conversations/${id}/reply`, { options, explain: true }),
  editMessage: (messageId, text, options) =>
    request("PATCH", `/api/messages/${messageId}`, { text, options, explain: true }),
  feedback: (messageId, rating, comment) =>
    request("POST", `/api/messages/${messageId}/feedback`, { rating, comment }),
  correction: (messageId, text) =>
    request("POST", `/api/messages/${messageId}/correction`, { text }),
  clearFeedback: (messageId) => request("DELETE", `/api/messages/${messageId}/feedback`),
  explanation: (messageId) => request("GET", `/api/messages/${messageId}/explanation`),
};
